DROP INDEX `events_action_time`;--> statement-breakpoint
DROP INDEX `events_attack_time`;