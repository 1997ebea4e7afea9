// OIDC sign-in for the console: the authorization code flow with PKCE (RFC 7636), the console a public client.
// The verifier and state live in sessionStorage only between the redirect and the return; the code the
// provider returns in the URL is taken out of it at once; the access token becomes the tab's credential.
import { $ } from "./api.js";

const VERIFIER = "oidcVerifier";
const STATE = "oidcState";

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

function randomText() { return base64url(crypto.getRandomValues(new Uint8Array(32))); }

function redirectUri() { return location.origin + "/admin/"; }

export async function oidcConfig() {
  const response = await fetch("/admin/sign-in");
  return response.ok ? (await response.json()).oidc : null;
}

export async function startOidc(config) {
  const verifier = randomText();
  const state = randomText();
  sessionStorage.setItem(VERIFIER, verifier);
  sessionStorage.setItem(STATE, state);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const url = new URL(config.authorization_endpoint);
  for (const [name, value] of Object.entries({ response_type: "code", client_id: config.client_id,
    redirect_uri: redirectUri(), scope: config.scope, state, code_challenge: challenge,
    code_challenge_method: "S256" })) url.searchParams.set(name, value);
  location.assign(url.toString());
}

// On the return from the provider: the access token, or null when this load is no return (or a forged one).
export async function finishOidc(config) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  history.replaceState(null, "", "/admin/");
  const verifier = sessionStorage.getItem(VERIFIER);
  const expected = sessionStorage.getItem(STATE);
  sessionStorage.removeItem(VERIFIER);
  sessionStorage.removeItem(STATE);
  if (params.has("error") || !config || !verifier || params.get("state") !== expected) {
    $("login-status").textContent = "OIDC sign-in failed: " + (params.get("error") || "the answer was not ours");
    return null;
  }
  const body = new URLSearchParams({ grant_type: "authorization_code", code: params.get("code"),
    redirect_uri: redirectUri(), client_id: config.client_id, code_verifier: verifier });
  const response = await fetch(config.token_endpoint, { method: "POST", body });
  const answer = response.ok ? await response.json() : null;
  if (!answer || !answer.access_token) {
    $("login-status").textContent = "OIDC sign-in failed: the provider gave no access token";
    return null;
  }
  return answer.access_token;
}
