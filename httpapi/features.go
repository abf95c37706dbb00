package httpapi

// featureRoutes lists each feature's route registration. Each feature keeps
// its routes in its own file (users.go, teams.go, contacts.go, …) and adds one
// line here.
func (s *Server) featureRoutes() []func() {
	return []func(){
		s.webhookRoutes,
		s.conversationRoutes,
		s.pairingRoutes,
		s.templateRoutes,
		s.userRoutes,
		s.teamRoutes,
		s.routingRoutes,
		s.boardRoutes,
		s.appointmentRoutes,
		s.labelRoutes,
		s.quickReplyRoutes,
		s.contactRoutes,
		s.platformRoutes,
		s.socketRoutes,
		s.connectionRoutes,
		s.mediaRoutes,
		s.sandboxRoutes,
		s.deadLetterRoutes,
		s.botFlowRoutes,
		s.conversationBotRoutes,
		s.scheduledMessageRoutes,
		s.consentRoutes,
		s.campaignRoutes,
		s.apiTokenRoutes,
		s.webhookSubscriptionRoutes,
		s.passwordRoutes,
	}
}
