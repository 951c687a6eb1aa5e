CREATE TABLE `log_export` (
	`id` integer PRIMARY KEY NOT NULL,
	`config` text,
	`cursor` integer,
	`updated_at` integer NOT NULL,
	`updated_by` text
);
