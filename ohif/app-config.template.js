/** @type {AppTypes.Config} */
// OHIF v3 (3.13) configuration for the de-identifying DICOMweb gateway.
//
// gateway/demo/ohif.py serves this file as /app-config.js next to the prebuilt viewer, after replacing the two
// quoted placeholders with JSON string literals: the gateway's DICOMweb root and the API key sent with every
// DICOMweb request. The browser talks to the gateway directly, so the gateway must allow this page's origin
// (CORS, preflight included: the Authorization header makes every request non-simple).
//
// Data-source settings follow OHIF's own Orthanc config (platform/app/public/config/local_orthanc.js): WADO-RS
// frames for the viewport and the thumbnails, lazy series metadata, no fuzzy matching, unquoted multipart Accept
// headers.
(function () {
  const dicomWebRoot = '@DICOMWEB_ROOT@';
  const apiKey = '@API_KEY@';

  // OHIF asks its userAuthenticationService for the Authorization header before every QIDO, WADO metadata,
  // frame, bulk data and thumbnail request. An extension object listed in `extensions` is registered as is, and
  // its preRegistration hook runs before any data source is initialised.
  const gatewayApiKey = {
    id: 'dicomweb-gateway-api-key',
    preRegistration({ servicesManager }) {
      servicesManager.services.userAuthenticationService.setServiceImplementation({
        getAuthorizationHeader: () => ({ Authorization: 'Bearer ' + apiKey }),
      });
    },
  };

  window.config = {
    name: 'dicomweb-gateway',
    routerBasename: '/',
    extensions: [gatewayApiKey],
    modes: [],
    customizationService: {},
    showStudyList: true,
    maxNumberOfWebWorkers: 3,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    investigationalUseDialog: { option: 'never' },
    maxNumRequests: { interaction: 100, thumbnail: 75, prefetch: 25 },
    showErrorDetails: 'always',
    defaultDataSourceName: 'gateway',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'gateway',
        configuration: {
          friendlyName: 'De-identifying DICOMweb gateway',
          name: 'gateway',
          wadoUriRoot: dicomWebRoot,
          qidoRoot: dicomWebRoot,
          wadoRoot: dicomWebRoot,
          qidoSupportsIncludeField: true,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          omitQuotationForMultipartRequest: true,
          bulkDataURI: { enabled: true },
        },
      },
    ],
  };
})();
