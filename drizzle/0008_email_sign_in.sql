CREATE TABLE "email_code_quotas" (
	"address_key" text PRIMARY KEY NOT NULL,
	"requested_at" timestamp with time zone[] NOT NULL,
	"last_requested_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "email_sign_in_codes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"redirect_to" text,
	"code_hash" text,
	"token_hash" text,
	"failures" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"ended_reason" text,
	CONSTRAINT "email_sign_in_codes_token_hash_key" UNIQUE("token_hash")
);
--> statement-breakpoint
ALTER TABLE "auth_challenges" ADD COLUMN "first_factor" text;--> statement-breakpoint
CREATE INDEX "email_code_quotas_last_requested_at_idx" ON "email_code_quotas" USING btree ("last_requested_at");--> statement-breakpoint
CREATE INDEX "email_sign_in_codes_email_created_idx" ON "email_sign_in_codes" USING btree ("email","created_at");--> statement-breakpoint
CREATE INDEX "email_sign_in_codes_expires_at_idx" ON "email_sign_in_codes" USING btree ("expires_at");