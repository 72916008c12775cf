-- Built-in roles and permissions of API.md. More can be added as rows without
-- a deploy; the admin CLI and PUT /admin/users/:id/roles assign them.
INSERT INTO "permissions" ("name", "description") VALUES
  ('profile:read', 'Read one''s own profile'),
  ('profile:write', 'Change one''s own profile and password'),
  ('sessions:read', 'List one''s own sessions'),
  ('sessions:revoke:own', 'End one''s own sessions'),
  ('users:read', 'List and read any user'),
  ('users:write', 'Disable and enable users'),
  ('roles:assign', 'Change any user''s roles'),
  ('sessions:revoke', 'End any user''s sessions'),
  ('audit:read', 'Read the audit trail')
ON CONFLICT ("name") DO NOTHING;
--> statement-breakpoint
INSERT INTO "roles" ("name", "description") VALUES
  ('user', 'Every account'),
  ('admin', 'Operators of this SecureAuth instance')
ON CONFLICT ("name") DO NOTHING;
--> statement-breakpoint
INSERT INTO "role_permissions" ("role_name", "permission_name") VALUES
  ('user', 'profile:read'),
  ('user', 'profile:write'),
  ('user', 'sessions:read'),
  ('user', 'sessions:revoke:own'),
  ('admin', 'profile:read'),
  ('admin', 'profile:write'),
  ('admin', 'sessions:read'),
  ('admin', 'sessions:revoke:own'),
  ('admin', 'users:read'),
  ('admin', 'users:write'),
  ('admin', 'roles:assign'),
  ('admin', 'sessions:revoke'),
  ('admin', 'audit:read')
ON CONFLICT DO NOTHING;
