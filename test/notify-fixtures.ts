import { buildConfig, type Config } from '../src/config';
import type { Case } from '../src/types';

/** Shared fixtures for the notify tests (not a test file itself). */

export function testConfig(over: Record<string, unknown> = {}): Config {
  return buildConfig({
    address: 'security@example.test',
    aliases: ['psirt@example.test'],
    project: 'Example',
    imap: { url: 'imap://u:p@127.0.0.1:1143' },
    smtp: { url: 'smtp://127.0.0.1:2525', from: 'Example Security <security@example.test>' },
    maintainers: ['alice@example.test'],
    ...over,
  });
}

export function testCase(over: Partial<Case> = {}): Case {
  return {
    id: 'SEC-2026-0001',
    state: 'new',
    subject: 'XSS in login form',
    reporter: 'rita@reporter.example',
    reply_to: 'rita@reporter.example',
    received_at: '2026-03-03T14:05:00.000Z',
    messages: [
      {
        message_id: '<abc123@reporter.example>',
        from: 'rita@reporter.example',
        date: '2026-03-03T14:05:00.000Z',
        direction: 'in',
        kind: 'report',
        subject: 'XSS in login form',
        attachments: [{ filename: 'poc.html', content_type: 'text/html', size: 120, sha256: 'a'.repeat(64) }],
      },
    ],
    acknowledged_at: null,
    first_response_at: null,
    next_steps_at: null,
    escalations: [],
    encrypted: false,
    signature: 'none',
    fields: {},
    participants: ['rita@reporter.example'],
    timeline: [],
    related: [],
    ...over,
  };
}
