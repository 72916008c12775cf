CREATE TABLE "revocation_log" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "revocation_log_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" text NOT NULL,
	"subject" uuid NOT NULL,
	"version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	CONSTRAINT "revocation_log_kind_check" CHECK ("revocation_log"."kind" in ('session', 'user', 'org'))
);
--> statement-breakpoint
CREATE INDEX "revocation_log_created_at_idx" ON "revocation_log" USING btree ("created_at");--> statement-breakpoint
-- The revocation feed's outbox is written here, by the database, in the same
-- transaction as the change: an ended session (revoked, or deleted while
-- live, as when its user is deleted; the daily job's deletion of expired
-- sessions ends nothing) and a grants version that grew. No
-- code path, the operator CLI's included, can revoke without a row.
CREATE FUNCTION "revocation_log_session_ended"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "revocation_log" ("kind", "subject") VALUES ('session', OLD."id");
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "sessions_revoked_logged" AFTER UPDATE OF "revoked_at" ON "sessions"
  FOR EACH ROW WHEN (OLD."revoked_at" IS NULL AND NEW."revoked_at" IS NOT NULL)
  EXECUTE FUNCTION "revocation_log_session_ended"();
--> statement-breakpoint
CREATE TRIGGER "sessions_deleted_logged" AFTER DELETE ON "sessions"
  FOR EACH ROW WHEN (
    OLD."revoked_at" IS NULL AND OLD."idle_expires_at" > now() AND OLD."absolute_expires_at" > now()
  )
  EXECUTE FUNCTION "revocation_log_session_ended"();
--> statement-breakpoint
CREATE FUNCTION "revocation_log_grants_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "revocation_log" ("kind", "subject", "version") VALUES ('user', NEW."id", NEW."grants_version");
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "users_grants_version_logged" AFTER UPDATE OF "grants_version" ON "users"
  FOR EACH ROW WHEN (NEW."grants_version" > OLD."grants_version")
  EXECUTE FUNCTION "revocation_log_grants_changed"();
