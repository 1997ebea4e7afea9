/** @type {AppTypes.Config} */
// OHIF v3 configuration for docker/compose.yaml: the viewer talks to the de-identifying gateway, never to
// Orthanc. The browser calls the gateway directly, so gateway.yaml allows this page's origin (cors).
//
// The API key below is the demo key bound to the researcher role in docker/gateway.yaml. A key in a page is
// readable by anyone who can load the page: for real use, sign in with the hospital's OIDC provider instead
// (OHIF's `oidc` setting, and auth.oidc in gateway.yaml with the same issuer) and drop this extension.
(function () {
  const dicomWebRoot = 'http://localhost:8080/dicom-web';
  const apiKey = 'viewer-demo-key-change-me-0123';

  // OHIF asks its userAuthenticationService for the Authorization header before every DICOMweb request.
  const gatewayApiKey = {
    id: 'dicomweb-gateway-api-key',
    preRegistration({ servicesManager }) {
      servicesManager.services.userAuthenticationService.setServiceImplementation({
        getAuthorizationHeader: () => ({ Authorization: 'Bearer ' + apiKey }),
      });
    },
  };

  window.config = {
    routerBasename: '/',
    extensions: [gatewayApiKey],
    modes: [],
    showStudyList: true,
    investigationalUseDialog: { option: 'never' },
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
