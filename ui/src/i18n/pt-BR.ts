// Brazilian Portuguese: the console's first language. Every visible string lives here and in en.ts.
export const ptBR = {
  common: {
    actions: 'Ações', cancel: 'Cancelar', close: 'Fechar', save: 'Salvar', create: 'Criar', edit: 'Editar', delete: 'Excluir',
    edit_item: 'Editar {{name}}', delete_item: 'Excluir {{name}}', language: 'Idioma', load_more: 'Carregar mais',
    loading: 'Carregando…', no: 'Não', yes: 'Sim', no_results: 'Nada encontrado', retry: 'Tentar de novo', search: 'Buscar',
    copy: 'Copiar', copied: 'Copiado!', all: 'Todos', none: 'Nenhum', back: 'Voltar', optional: 'opcional',
  },
  errors: {
    title: 'Algo deu errado', network: 'Sem conexão com o servidor. Verifique sua internet.', not_found: 'Não encontrado.',
    forbidden: 'Seu perfil não tem permissão para isso.', server: 'O servidor encontrou um erro. Tente de novo em instantes.',
    unknown: 'Erro inesperado.', unavailable_title: 'Ainda não disponível',
    unavailable: 'Este recurso ainda não está disponível neste servidor.',
    validation_failed: 'Confira os campos destacados.', conflict: 'Já existe um registro com esse valor.',
    invalid_token: 'Sua sessão expirou. Entre novamente.', too_many_attempts: 'Muitas tentativas. Aguarde um pouco.',
    plan_limit: 'O limite do seu plano foi atingido.', license_invalid: 'A licença desta empresa não é válida.',
    tenant_suspended: 'A conta da sua empresa está suspensa.', payload_too_large: 'Arquivo grande demais.',
    forbidden_code: 'Seu perfil não tem permissão para isso.',
  },
  time: { today: 'Hoje', yesterday: 'Ontem' },
  roles: { SUPER_ADMIN: 'Dono da plataforma', TENANT_ADMIN: 'Administrador', SUPERVISOR: 'Supervisor', AGENT: 'Agente' },
  nav: { inbox: 'Inbox', contacts: 'Contatos', settings: 'Configurações', metrics: 'Métricas', tenants: 'Clientes', plans: 'Planos' },
  shell: {
    connection_lost: 'Conexão perdida. Reconectando… as mensagens chegarão assim que voltar.', logout: 'Sair',
    navigation: 'Navegação principal', platform: 'Plataforma', product: 'CRM WhatsApp', skip_to_content: 'Pular para o conteúdo',
  },
  not_found: { title: 'Página não encontrada', description: 'O endereço que você abriu não existe.', home: 'Ir para o início' },
  login: {
    title: 'Entrar', subtitle: 'Acesse o console de atendimento', email: 'E-mail', email_placeholder: 'voce@empresa.com.br',
    password: 'Senha', submit: 'Entrar', submit_company: 'Entrar nesta empresa',
    choose_company: 'Em qual empresa você quer entrar?', choose_company_hint: 'Seu e-mail tem acesso a mais de uma empresa.',
    locked_button: 'Bloqueado por {{time}}',
    errors: {
      invalid_credentials: 'E-mail ou senha incorretos.',
      too_many_attempts: 'Muitas tentativas de login. Tente de novo em {{time}}.',
      account_disabled: 'Sua conta foi desativada. Fale com o administrador da sua empresa.',
      tenant_suspended: 'A conta da sua empresa está suspensa. Fale com o suporte para reativá-la.',
      license_invalid: 'A licença desta empresa não é válida.',
      network: 'Não foi possível falar com o servidor. Verifique sua conexão.',
    },
    license_reason: {
      expired: 'Ela expirou.', ip_mismatch: 'Ela foi emitida para outro servidor (IP diferente).', revoked: 'Ela foi revogada.',
      bad_signature: 'A assinatura da licença é inválida.', missing: 'Nenhuma licença foi instalada.',
      not_yet_valid: 'Ela ainda não está em vigor.', hostname_mismatch: 'Ela foi emitida para outro servidor (nome diferente).',
      tenant_mismatch: 'Ela pertence a outra empresa.',
    },
  },
  license: {
    invalid: 'A licença desta empresa não é válida.',
    grace: 'A licença expirou e está no período de tolerância. Renove para não interromper o atendimento.',
    expires_in_one: 'A licença expira em {{count}} dia.', expires_in_many: 'A licença expira em {{count}} dias.',
    expires_in_other: 'A licença expira em {{count}} dias.', expires_on: 'A licença expira em {{date}}.',
  },
  settings: {
    title: 'Configurações', description: 'Equipe, etiquetas, respostas rápidas e o seu plano.',
    tabs: { users: 'Usuários', teams: 'Equipes', labels: 'Etiquetas', quick_replies: 'Respostas rápidas', plan: 'Plano e licença' },
  },
  users: {
    title: 'Usuários', description: 'Quem atende e o que cada perfil pode fazer.', new: 'Novo usuário', edit: 'Editar usuário',
    name: 'Nome', email: 'E-mail', password: 'Senha', password_hint: 'Pelo menos 8 caracteres.', password_keep: 'Deixe em branco para manter a atual.',
    role: 'Perfil', teams: 'Equipes', status: 'Situação', active: 'Ativo', inactive: 'Inativo', last_login: 'Último acesso', never: 'Nunca',
    empty: 'Nenhum usuário ainda', no_teams: 'Nenhuma equipe criada.', deactivate: 'Desativar', reactivate: 'Reativar',
    confirm_deactivate: 'Desativar {{name}}? A pessoa perde o acesso na hora.',
  },
  teams: {
    title: 'Equipes', description: 'Agrupe agentes para distribuir as conversas.', new: 'Nova equipe', edit: 'Editar equipe',
    name: 'Nome', description_label: 'Descrição', members: 'Membros', no_members: 'Sem membros', no_users: 'Nenhum usuário ativo.',
    members_count_one: '{{count}} membro', members_count_many: '{{count}} membros', members_count_other: '{{count}} membros',
    empty: 'Nenhuma equipe ainda', empty_hint: 'Crie equipes como “Vendas” e “Suporte”.', confirm_delete: 'Excluir a equipe {{name}}?',
  },
  labels: {
    title: 'Etiquetas', description: 'Organize conversas e contatos por cor.', new: 'Nova etiqueta', edit: 'Editar etiqueta',
    name: 'Nome', color: 'Cor', empty: 'Nenhuma etiqueta ainda', empty_hint: 'Crie etiquetas como “Cliente VIP” ou “Orçamento”.',
    confirm_delete: 'Excluir a etiqueta {{name}}?',
  },
  quick_replies: {
    title: 'Respostas rápidas', description: 'Digite / no chat para usar.', new: 'Nova resposta', edit: 'Editar resposta',
    shortcut: 'Atalho', shortcut_hint: 'Sem espaços, por exemplo: boasvindas', title_label: 'Título', text: 'Texto',
    empty: 'Nenhuma resposta rápida ainda', empty_hint: 'Salve as mensagens que você mais envia.', confirm_delete: 'Excluir a resposta {{name}}?',
  },
  plan: {
    current: 'Plano atual', none: 'Sem plano', per_month: '{{price}} por mês', unlimited: 'ilimitado', license: 'Licença',
    license_valid: 'Licença válida', license_grace: 'Licença em período de tolerância', license_invalid: 'Licença inválida',
    license_none: 'Nenhuma licença emitida para esta empresa.', license_expires: 'Válida até {{date}}', features_title: 'Recursos do plano',
    limits: { users: 'Usuários', connections: 'Conexões', contacts: 'Contatos', monthly_conversations: 'Conversas neste mês', monthly_campaigns: 'Campanhas neste mês' },
    features: { chatbot: 'Chatbot', campaigns: 'Campanhas', kanban: 'Kanban', agenda: 'Agenda', reports: 'Relatórios', api: 'API', instagram: 'Instagram', messenger: 'Messenger' },
  },
};

export type Dictionary = typeof ptBR;
