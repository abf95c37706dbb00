package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
)

// A conversation's chatbot as agents see and steer it: which flow runs (or
// last ran) and what it collected, stop it, hand the conversation (back) to
// a flow. The chatbot plan feature gates all three (402).

type conversationBotResponse struct {
	Active  bool            `json:"active"`
	Session *crm.BotSession `json:"session"` // the live session, else the latest; null when none ever ran
}

type startBotRequest struct {
	FlowID uuid.UUID `json:"flow_id" required:"true"`
}

func (s *Server) conversationBotRoutes() {
	const tag = "chatbot"
	s.route(op{Method: http.MethodGet, Path: "/api/v1/conversations/:id/bot", Summary: "The conversation's chatbot session: the live one, else the latest (its variables)",
		Tag: tag, Access: accessTenant, Perm: crm.PermConversationsRead, Response: conversationBotResponse{}}, s.getConversationBot)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/conversations/:id/bot/stop", Summary: "Stop the chatbot running on the conversation (409 bot_not_active)",
		Tag: tag, Access: accessTenant, Perm: crm.PermConversationsWrite, Response: crm.Conversation{}}, s.stopConversationBot)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/conversations/:id/bot/start", Summary: "Hand the conversation to a published flow, from its start (409 bot_active, 422 not published)",
		Tag: tag, Access: accessTenant, Perm: crm.PermConversationsWrite, Request: startBotRequest{}, Response: crm.Conversation{}}, s.startConversationBot)
}

func (s *Server) getConversationBot(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	sess, err := s.db.ConversationBotSession(c, p.TenantID, conv.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, conversationBotResponse{Active: sess.Live(), Session: sess})
	return nil
}

func (s *Server) stopConversationBot(c *gin.Context, p crm.Principal) error {
	return s.steerBot(c, p, func(conv *crm.Conversation) error {
		engine, err := s.conversationEngine()
		if err != nil {
			return err
		}
		_, err = engine.StopBot(c, p, conv)
		return err
	})
}

func (s *Server) startConversationBot(c *gin.Context, p crm.Principal) error {
	var req startBotRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	return s.steerBot(c, p, func(conv *crm.Conversation) error {
		engine, err := s.conversationEngine()
		if err != nil {
			return err
		}
		_, err = engine.StartBot(c, p, conv, req.FlowID)
		return err
	})
}

// steerBot checks the feature and the conversation, runs fn and answers
// with the conversation as it is now.
func (s *Server) steerBot(c *gin.Context, p crm.Principal, fn func(*crm.Conversation) error) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	if err := fn(conv); err != nil {
		return err
	}
	updated, err := s.db.GetConversation(c, p.TenantID, conv.ID, crm.Visibility{All: true})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, updated)
	return nil
}
