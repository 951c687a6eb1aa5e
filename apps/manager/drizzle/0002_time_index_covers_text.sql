DROP INDEX `events_time`;--> statement-breakpoint
CREATE INDEX `events_time_text` ON `events` (`time`,`id`,`text`);