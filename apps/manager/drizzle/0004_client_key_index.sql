DROP INDEX `events_client_time`;--> statement-breakpoint
ALTER TABLE `events` ADD `client_key` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Existing rows: client_key() is db/client-key.ts's clientKey, registered on the connection before the migrations run.
UPDATE `events` SET `client_key` = client_key(`client_address`);--> statement-breakpoint
CREATE INDEX `events_client_key_time` ON `events` (`client_key`,`time`,`id`);
