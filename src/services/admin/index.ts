// Administration: the admin API's service, the operator's identity, and the
// one role-change rule both follow.
export { AdminService, type AdminDeps } from "./admin-service";
export { OPERATOR, type AdminActor } from "./actor";
