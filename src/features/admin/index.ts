// Administration: the admin API's service, the operator's identity, and the
// one role-change rule both follow.
export { AdminService, type AdminDeps, type RoleDefinition } from "./service";
export { OPERATOR, type AdminActor, type OperatorActor } from "./actor";
export { BUILT_IN_PERMISSIONS } from "./role-definition";
