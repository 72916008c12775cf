ALTER TABLE "oauth_codes" DROP CONSTRAINT "oauth_codes_kind_check";--> statement-breakpoint
ALTER TABLE "oauth_codes" ADD COLUMN "amr" text[];--> statement-breakpoint
ALTER TABLE "oauth_codes" ADD COLUMN "auth_time" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "oauth_codes" ADD CONSTRAINT "oauth_codes_kind_check" CHECK ("oauth_codes"."kind" in ('sign_in', 'link', 'handoff'));