ALTER TABLE "auth_challenges" ADD COLUMN "idp" text;--> statement-breakpoint
ALTER TABLE "email_sign_in_codes" ADD COLUMN "session_id" uuid;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "idp" text;--> statement-breakpoint
ALTER TABLE "email_sign_in_codes" ADD CONSTRAINT "email_sign_in_codes_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;