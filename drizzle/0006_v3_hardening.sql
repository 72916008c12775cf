ALTER TABLE "one_time_tokens" ADD COLUMN "requester_network" text;--> statement-breakpoint
ALTER TABLE "totp_factors" ADD COLUMN "failed_confirmations" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "device_generation" integer DEFAULT 0 NOT NULL;