CREATE TABLE `audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`time` integer NOT NULL,
	`username` text NOT NULL,
	`action` text NOT NULL,
	`target` text NOT NULL,
	`before` text,
	`after` text
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`gateway_id` text NOT NULL,
	`epoch` integer NOT NULL,
	`seq` integer NOT NULL,
	`time` integer NOT NULL,
	`received_at` integer NOT NULL,
	`protection_id` text NOT NULL,
	`attack_name` text NOT NULL,
	`action` text NOT NULL,
	`client_address` text NOT NULL,
	`text` text NOT NULL,
	`data` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_gateway_seq` ON `events` (`gateway_id`,`epoch`,`seq`);--> statement-breakpoint
CREATE INDEX `events_time` ON `events` (`time`,`id`);--> statement-breakpoint
CREATE INDEX `events_protection_time` ON `events` (`protection_id`,`time`,`id`);--> statement-breakpoint
CREATE INDEX `events_gateway_time` ON `events` (`gateway_id`,`time`,`id`);--> statement-breakpoint
CREATE INDEX `events_action_time` ON `events` (`action`,`time`,`id`);--> statement-breakpoint
CREATE INDEX `events_attack_time` ON `events` (`attack_name`,`time`,`id`);--> statement-breakpoint
CREATE INDEX `events_client_time` ON `events` (`client_address`,`time`,`id`);--> statement-breakpoint
CREATE TABLE `gateways` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL,
	`enroll_key_hash` text,
	`enroll_key_expires_at` integer,
	`credential_hash` text,
	`enrolled_at` integer,
	`revoked_at` integer,
	`last_seen_at` integer,
	`address` text,
	`version` text,
	`installed_revision` integer,
	`installed_hash` text,
	`target_revision` integer,
	`target_install_id` integer,
	`health` text,
	`detail` text,
	`counters` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `gateways_name_unique` ON `gateways` (`name`);--> statement-breakpoint
CREATE TABLE `install_results` (
	`install_id` integer NOT NULL,
	`gateway_id` text NOT NULL,
	`gateway_name` text NOT NULL,
	`profile` text NOT NULL,
	`hash` text NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`install_id`, `gateway_id`),
	FOREIGN KEY (`install_id`) REFERENCES `installs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `installs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`revision` integer NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`comment` text NOT NULL,
	`done` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE `kv` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL,
	`updated_by` text
);
--> statement-breakpoint
CREATE TABLE `revisions` (
	`number` integer PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`comment` text NOT NULL,
	`rollback_of` integer,
	`document` text NOT NULL,
	`policies` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_user` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`disabled` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);