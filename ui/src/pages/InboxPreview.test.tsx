import { render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryRouter } from 'react-router';
import type { Conversation } from '../api/types';
import { useAuth } from '../store/auth';
import { ConversationRow } from './Inbox';

const base: Conversation = {
  id: 'c1', connection_id: 'k', contact_id: 'ct', contact: { id: 'ct', name: 'Maria', phone: '+5511987654321' },
  status: 'open', assignee_id: null, team_id: null, label_ids: [], last_message_preview: 'Tudo certo!',
  last_message_direction: 'outbound', last_message_at: new Date().toISOString(),
};

function row(c: Partial<Conversation>) {
  render(<MemoryRouter><ConversationRow c={{ ...base, ...c }} active={false} labelsById={new Map()} /></MemoryRouter>);
  return screen.queryByTestId('preview-sender')?.textContent ?? null;
}

beforeEach(() => {
  useAuth.setState({ user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never });
});

describe('the list preview names who sent the last message', () => {
  it('another agent by name', () => {
    expect(row({ last_message_sender: { user_id: 'u-bruno', name: 'Bruno', via: 'agent' } })).toBe('Bruno: ');
  });
  it('the signed-in agent as "Você"', () => {
    expect(row({ last_message_sender: { user_id: 'me', name: 'Ana', via: 'agent' } })).toBe('Você: ');
  });
  it('the bot as "Bot"', () => {
    expect(row({ last_message_sender: { user_id: null, name: '', via: 'bot' } })).toBe('Bot: ');
  });
  it('nobody for the customer\'s message, or an outbound one of unknown origin', () => {
    expect(row({ last_message_direction: 'inbound', last_message_sender: null })).toBeNull();
    expect(row({ last_message_sender: undefined })).toBeNull();
  });
});
