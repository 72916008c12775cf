export { authenticate } from "./authenticate";
export { parseBearerToken } from "./bearer";
export { ACCESS_TOKEN_COOKIE, carriesAccessToken } from "./credential";
