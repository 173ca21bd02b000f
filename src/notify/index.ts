/** Reporter correspondence: the pure mail core, templates, rate limiting and the SMTP retry schedule. */
export * from './address';
export * from './auto-reply-policy';
export * from './compose';
export * from './message-id';
export * from './rate-limit';
export * from './render';
export * from './send-schedule';
export * from './subject';
export * from './template-vars';
