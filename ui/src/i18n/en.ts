import type { Dictionary } from './pt-BR';

type Loose<T> = { [K in keyof T]: T[K] extends string ? string : Loose<T[K]> };

export const en: Loose<Dictionary> = {
  common: {
    actions: 'Actions', cancel: 'Cancel', close: 'Close', save: 'Save', create: 'Create', edit: 'Edit', delete: 'Delete',
    edit_item: 'Edit {{name}}', delete_item: 'Delete {{name}}', language: 'Language', load_more: 'Load more',
    loading: 'Loading…', no: 'No', yes: 'Yes', no_results: 'Nothing found', retry: 'Try again', search: 'Search',
    copy: 'Copy', copied: 'Copied!', all: 'All', none: 'None', back: 'Back', optional: 'optional',
  },
  errors: {
    title: 'Something went wrong', network: 'Cannot reach the server. Check your connection.', not_found: 'Not found.',
    forbidden: 'Your role may not do this.', server: 'The server hit an error. Try again in a moment.',
    unknown: 'Unexpected error.', unavailable_title: 'Not available yet',
    unavailable: 'This feature is not available on this server yet.',
    validation_failed: 'Check the highlighted fields.', conflict: 'A record with that value already exists.',
    invalid_token: 'Your session expired. Sign in again.', too_many_attempts: 'Too many attempts. Wait a little.',
    plan_limit: 'Your plan limit has been reached.', license_invalid: "This company's license is not valid.",
    tenant_suspended: "Your company's account is suspended.", payload_too_large: 'The file is too large.',
    forbidden_code: 'Your role may not do this.',
  },
  time: { today: 'Today', yesterday: 'Yesterday' },
  roles: { SUPER_ADMIN: 'Platform owner', TENANT_ADMIN: 'Administrator', SUPERVISOR: 'Supervisor', AGENT: 'Agent' },
  nav: { inbox: 'Inbox', contacts: 'Contacts', settings: 'Settings', metrics: 'Metrics', tenants: 'Tenants', plans: 'Plans' },
  shell: {
    connection_lost: 'Connection lost. Reconnecting… messages will arrive as soon as it is back.', logout: 'Sign out',
    navigation: 'Main navigation', platform: 'Platform', product: 'WhatsApp CRM', skip_to_content: 'Skip to content',
  },
  not_found: { title: 'Page not found', description: 'The address you opened does not exist.', home: 'Go home' },
  login: {
    title: 'Sign in', subtitle: 'Open the customer service console', email: 'Email', email_placeholder: 'you@company.com',
    password: 'Password', submit: 'Sign in', submit_company: 'Sign in to this company',
    choose_company: 'Which company do you want to sign in to?', choose_company_hint: 'Your email has access to more than one company.',
    locked_button: 'Locked for {{time}}',
    errors: {
      invalid_credentials: 'Wrong email or password.',
      too_many_attempts: 'Too many login attempts. Try again in {{time}}.',
      account_disabled: "Your account is deactivated. Ask your company's administrator.",
      tenant_suspended: "Your company's account is suspended. Contact support to reactivate it.",
      license_invalid: "This company's license is not valid.",
      network: 'Could not reach the server. Check your connection.',
    },
    license_reason: {
      expired: 'It has expired.', ip_mismatch: 'It was issued for another server (different IP).', revoked: 'It was revoked.',
      bad_signature: "The license's signature is invalid.", missing: 'No license is installed.',
      not_yet_valid: 'It is not in force yet.', hostname_mismatch: 'It was issued for another server (different hostname).',
      tenant_mismatch: 'It belongs to another company.',
    },
  },
  license: {
    invalid: "This company's license is not valid.",
    grace: 'The license has expired and is in its grace period. Renew it to keep serving customers.',
    expires_in_one: 'The license expires in {{count}} day.', expires_in_many: 'The license expires in {{count}} days.',
    expires_in_other: 'The license expires in {{count}} days.', expires_on: 'The license expires on {{date}}.',
  },
  settings: {
    title: 'Settings', description: 'Team, labels, quick replies and your plan.',
    tabs: { users: 'Users', teams: 'Teams', labels: 'Labels', quick_replies: 'Quick replies', plan: 'Plan and license' },
  },
  users: {
    title: 'Users', description: 'Who answers and what each role may do.', new: 'New user', edit: 'Edit user',
    name: 'Name', email: 'Email', password: 'Password', password_hint: 'At least 8 characters.', password_keep: 'Leave blank to keep the current one.',
    role: 'Role', teams: 'Teams', status: 'Status', active: 'Active', inactive: 'Inactive', last_login: 'Last sign-in', never: 'Never',
    empty: 'No users yet', no_teams: 'No teams created.', deactivate: 'Deactivate', reactivate: 'Reactivate',
    confirm_deactivate: 'Deactivate {{name}}? They lose access at once.',
  },
  teams: {
    title: 'Teams', description: 'Group agents to share out conversations.', new: 'New team', edit: 'Edit team',
    name: 'Name', description_label: 'Description', members: 'Members', no_members: 'No members', no_users: 'No active users.',
    members_count_one: '{{count}} member', members_count_many: '{{count}} members', members_count_other: '{{count}} members',
    empty: 'No teams yet', empty_hint: 'Create teams such as “Sales” and “Support”.', confirm_delete: 'Delete the team {{name}}?',
  },
  labels: {
    title: 'Labels', description: 'Organise conversations and contacts by colour.', new: 'New label', edit: 'Edit label',
    name: 'Name', color: 'Colour', empty: 'No labels yet', empty_hint: 'Create labels such as “VIP customer” or “Quote”.',
    confirm_delete: 'Delete the label {{name}}?',
  },
  quick_replies: {
    title: 'Quick replies', description: 'Type / in the chat to use them.', new: 'New reply', edit: 'Edit reply',
    shortcut: 'Shortcut', shortcut_hint: 'No spaces, for example: welcome', title_label: 'Title', text: 'Text',
    empty: 'No quick replies yet', empty_hint: 'Save the messages you send most.', confirm_delete: 'Delete the reply {{name}}?',
  },
  plan: {
    current: 'Current plan', none: 'No plan', per_month: '{{price}} per month', unlimited: 'unlimited', license: 'License',
    license_valid: 'Valid license', license_grace: 'License in grace period', license_invalid: 'Invalid license',
    license_none: 'No license issued for this company.', license_expires: 'Valid until {{date}}', features_title: 'Plan features',
    limits: { users: 'Users', connections: 'Connections', contacts: 'Contacts', monthly_conversations: 'Conversations this month', monthly_campaigns: 'Campaigns this month' },
    features: { chatbot: 'Chatbot', campaigns: 'Campaigns', kanban: 'Kanban', agenda: 'Agenda', reports: 'Reports', api: 'API', instagram: 'Instagram', messenger: 'Messenger' },
  },
};
