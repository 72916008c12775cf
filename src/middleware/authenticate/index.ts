export { authenticate } from "./authenticate";
export { parseBearerToken } from "./bearer";
