package meta

import (
	json "github.com/goccy/go-json"
	"strconv"

	"crm/channels"
	crmpb "crm/proto"
)

// Messenger and Instagram share the "messaging" webhook format.

type msgEntry struct {
	ID        flex              `json:"id"`
	Time      flex              `json:"time"`
	Messaging []json.RawMessage `json:"messaging"`
	// standby: events of threads another app (a handover owner) controls.
	Standby []json.RawMessage `json:"standby"`
}

type msgParty struct {
	ID flex `json:"id"`
}

type msgAttachment struct {
	Type    flex `json:"type"`
	Title   flex `json:"title"`
	URL     flex `json:"url"`
	Payload *struct {
		URL         flex `json:"url"`
		Title       flex `json:"title"`
		StickerID   flex `json:"sticker_id"`
		ReelVideoID flex `json:"reel_video_id"`
		Coordinates *struct {
			Lat  flex `json:"lat"`
			Long flex `json:"long"`
		} `json:"coordinates"`
	} `json:"payload"`
}

type msgReferral struct {
	Ref        flex `json:"ref"`
	Source     flex `json:"source"`
	Type       flex `json:"type"`
	AdID       flex `json:"ad_id"`
	RefererURI flex `json:"referer_uri"`
	AdsContext *struct {
		AdTitle  flex `json:"ad_title"`
		PhotoURL flex `json:"photo_url"`
		VideoURL flex `json:"video_url"`
		PostID   flex `json:"post_id"`
	} `json:"ads_context_data"`
}

type msgEvent struct {
	Sender    msgParty `json:"sender"`
	Recipient msgParty `json:"recipient"`
	Timestamp flex     `json:"timestamp"`
	Message   *struct {
		MID         flex            `json:"mid"`
		Text        flex            `json:"text"`
		IsEcho      flex            `json:"is_echo"`
		AppID       flex            `json:"app_id"`
		Metadata    flex            `json:"metadata"`
		IsDeleted   flex            `json:"is_deleted"`
		Unsupported flex            `json:"is_unsupported"`
		Attachments []msgAttachment `json:"attachments"`
		QuickReply  *struct {
			Payload flex `json:"payload"`
		} `json:"quick_reply"`
		ReplyTo *struct {
			MID   flex `json:"mid"`
			Story *struct {
				ID  flex `json:"id"`
				URL flex `json:"url"`
			} `json:"story"`
		} `json:"reply_to"`
		Referral *msgReferral `json:"referral"`
	} `json:"message"`
	Read *struct {
		Watermark flex `json:"watermark"`
		MID       flex `json:"mid"`
	} `json:"read"`
	Seen *struct {
		Watermark flex `json:"watermark"`
		MID       flex `json:"mid"`
	} `json:"messaging_seen"`
	Delivery *struct {
		MIDs      []flex `json:"mids"`
		Watermark flex   `json:"watermark"`
	} `json:"delivery"`
	Reaction *struct {
		Reaction flex `json:"reaction"`
		Emoji    flex `json:"emoji"`
		Action   flex `json:"action"`
		MID      flex `json:"mid"`
	} `json:"reaction"`
	Postback *struct {
		Title    flex         `json:"title"`
		Payload  flex         `json:"payload"`
		MID      flex         `json:"mid"`
		Referral *msgReferral `json:"referral"`
	} `json:"postback"`
}

func parseMessagingEntry(channel crmpb.Channel, raw json.RawMessage) []*crmpb.ChannelEvent {
	var entry msgEntry
	if err := json.Unmarshal(raw, &entry); err != nil {
		return nil
	}
	var events []*crmpb.ChannelEvent
	for _, list := range [][]json.RawMessage{entry.Messaging, entry.Standby} {
		for _, rawEvent := range list {
			events = append(events, parseMessagingEvent(channel, string(entry.ID), rawEvent)...)
		}
	}
	return events
}

func parseMessagingEvent(channel crmpb.Channel, accountID string, raw json.RawMessage) []*crmpb.ChannelEvent {
	var e msgEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil
	}
	ts := channels.UnixMillis(e.Timestamp.Int64())
	sender, recipient := string(e.Sender.ID), string(e.Recipient.ID)
	newEvent := func(key string) *crmpb.ChannelEvent {
		return &crmpb.ChannelEvent{
			Provider:    ProviderName,
			Channel:     channel,
			AccountId:   accountID,
			DedupeKey:   key,
			TimestampMs: ts,
		}
	}
	user := func(id string) *crmpb.ContactProfile {
		return &crmpb.ContactProfile{ExternalId: id, UserId: id}
	}

	switch {
	case e.Message != nil:
		m := e.Message
		msg := &crmpb.Message{
			ExternalId:  string(m.MID),
			From:        sender,
			To:          recipient,
			TimestampMs: ts,
			Text:        string(m.Text),
		}
		if m.ReplyTo != nil {
			switch {
			case m.ReplyTo.MID != "":
				msg.ReplyTo = &crmpb.ReplyContext{ExternalId: string(m.ReplyTo.MID)}
			case m.ReplyTo.Story != nil:
				msg.ReplyTo = &crmpb.ReplyContext{ExternalId: string(m.ReplyTo.Story.ID)}
				msg.Attachments = append(msg.Attachments, &crmpb.Attachment{
					Type: crmpb.AttachmentType_ATTACHMENT_TYPE_STORY_MENTION, ProviderType: "story_reply",
					Url: string(m.ReplyTo.Story.URL),
				})
			}
		}
		if m.Referral != nil {
			msg.Referral = referral(m.Referral)
		}
		classifyMessagingMessage(msg, m.Attachments, m.QuickReply != nil, m.IsDeleted.Bool())
		if m.QuickReply != nil {
			msg.QuickReplyPayload = string(m.QuickReply.Payload)
		}
		key := string(m.MID)
		if key == "" {
			key = channels.DedupeKey("msg-noid", string(raw))
		}
		ev := newEvent(key)
		if m.IsEcho.Bool() {
			// Sent by the page (us or another tool): outbound, never inbound.
			ev.Event = &crmpb.ChannelEvent_OutboundEcho{OutboundEcho: &crmpb.OutboundEcho{
				Contact: user(recipient), Message: msg,
				AppId: string(m.AppID), Metadata: string(m.Metadata),
			}}
		} else {
			ev.Event = &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
				Contact: user(sender), Message: msg,
			}}
		}
		return []*crmpb.ChannelEvent{ev}

	case e.Postback != nil:
		pb := e.Postback
		key := string(pb.MID)
		if key == "" {
			key = channels.DedupeKey("postback", sender, string(e.Timestamp), string(pb.Payload))
		}
		msg := &crmpb.Message{
			ExternalId:  string(pb.MID),
			Type:        crmpb.MessageType_MESSAGE_TYPE_POSTBACK,
			Text:        string(pb.Title),
			From:        sender,
			To:          recipient,
			TimestampMs: ts,
			Postback:    &crmpb.Postback{Title: string(pb.Title), Payload: string(pb.Payload)},
		}
		if pb.Referral != nil {
			msg.Referral = referral(pb.Referral)
		}
		ev := newEvent(key)
		ev.Event = &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{Contact: user(sender), Message: msg}}
		return []*crmpb.ChannelEvent{ev}

	case e.Reaction != nil:
		r := e.Reaction
		removed := r.Action == "unreact"
		ev := newEvent(channels.DedupeKey("reaction", sender, string(r.MID), string(r.Action),
			string(r.Reaction), string(r.Emoji), string(e.Timestamp)))
		ev.Event = &crmpb.ChannelEvent_Reaction{Reaction: &crmpb.ReactionEvent{
			Contact: user(sender), TargetExternalId: string(r.MID),
			Emoji: string(r.Emoji), Reaction: string(r.Reaction), Removed: removed,
		}}
		return []*crmpb.ChannelEvent{ev}

	case e.Read != nil || e.Seen != nil:
		watermark, mid := flex(""), flex("")
		if e.Read != nil {
			watermark, mid = e.Read.Watermark, e.Read.MID
		} else {
			watermark, mid = e.Seen.Watermark, e.Seen.MID
		}
		wm := channels.UnixMillis(watermark.Int64())
		if wm == 0 && mid != "" {
			// Instagram names the message seen; everything up to the
			// event's time is read.
			wm = ts
		}
		ev := newEvent(channels.DedupeKey("read", sender, strconv.FormatInt(wm, 10), string(mid)))
		ev.Event = &crmpb.ChannelEvent_ReadWatermark{ReadWatermark: &crmpb.ReadWatermark{
			Contact: user(sender), Status: crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
			WatermarkMs: wm, ExternalMessageId: string(mid),
		}}
		return []*crmpb.ChannelEvent{ev}

	case e.Delivery != nil:
		d := e.Delivery
		var events []*crmpb.ChannelEvent
		for _, mid := range d.MIDs {
			if mid == "" {
				continue
			}
			ev := newEvent(string(mid) + ":delivered")
			ev.Event = &crmpb.ChannelEvent_StatusUpdate{StatusUpdate: &crmpb.StatusUpdate{
				ExternalMessageId: string(mid), Status: crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
				ProviderStatus: "delivery", TimestampMs: ts, RecipientId: sender,
			}}
			events = append(events, ev)
		}
		if len(events) == 0 {
			wm := channels.UnixMillis(d.Watermark.Int64())
			ev := newEvent(channels.DedupeKey("delivery", sender, strconv.FormatInt(wm, 10)))
			ev.Event = &crmpb.ChannelEvent_ReadWatermark{ReadWatermark: &crmpb.ReadWatermark{
				Contact: user(sender), Status: crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED, WatermarkMs: wm,
			}}
			events = append(events, ev)
		}
		return events
	}
	// optins, referrals without a message, handovers, policy enforcement:
	// not conversation content; skipped.
	return nil
}

var attachmentTypes = map[string]crmpb.AttachmentType{
	"image":         crmpb.AttachmentType_ATTACHMENT_TYPE_IMAGE,
	"audio":         crmpb.AttachmentType_ATTACHMENT_TYPE_AUDIO,
	"video":         crmpb.AttachmentType_ATTACHMENT_TYPE_VIDEO,
	"file":          crmpb.AttachmentType_ATTACHMENT_TYPE_FILE,
	"reel":          crmpb.AttachmentType_ATTACHMENT_TYPE_REEL,
	"ig_reel":       crmpb.AttachmentType_ATTACHMENT_TYPE_IG_REEL,
	"post":          crmpb.AttachmentType_ATTACHMENT_TYPE_POST,
	"ig_post":       crmpb.AttachmentType_ATTACHMENT_TYPE_IG_POST,
	"share":         crmpb.AttachmentType_ATTACHMENT_TYPE_POST,
	"fallback":      crmpb.AttachmentType_ATTACHMENT_TYPE_FALLBACK,
	"location":      crmpb.AttachmentType_ATTACHMENT_TYPE_LOCATION,
	"story_mention": crmpb.AttachmentType_ATTACHMENT_TYPE_STORY_MENTION,
	"template":      crmpb.AttachmentType_ATTACHMENT_TYPE_TEMPLATE,
}

// classifyMessagingMessage sets the type, media and attachments of a
// Messenger/Instagram message. The first attachment decides the type; all
// are kept.
func classifyMessagingMessage(msg *crmpb.Message, atts []msgAttachment, quickReply, deleted bool) {
	for _, a := range atts {
		att := &crmpb.Attachment{
			Type:         attachmentTypes[string(a.Type)],
			ProviderType: string(a.Type),
			Url:          string(a.URL),
			Title:        string(a.Title),
		}
		if att.Type == crmpb.AttachmentType_ATTACHMENT_TYPE_UNSPECIFIED {
			att.Type = crmpb.AttachmentType_ATTACHMENT_TYPE_OTHER
		}
		if p := a.Payload; p != nil {
			if p.URL != "" {
				att.Url = string(p.URL)
			}
			if p.Title != "" {
				att.Title = string(p.Title)
			}
			att.StickerId = string(p.StickerID)
			if p.Coordinates != nil && msg.Location == nil {
				msg.Location = &crmpb.Location{Latitude: p.Coordinates.Lat.Float(), Longitude: p.Coordinates.Long.Float(), Name: att.Title}
			}
		}
		msg.Attachments = append(msg.Attachments, att)
	}
	var first *crmpb.Attachment
	for _, a := range msg.Attachments {
		if a.ProviderType != "story_reply" {
			first = a
			break
		}
	}
	switch {
	case deleted:
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED
		msg.ProviderType = "deleted"
		msg.Errors = []*crmpb.ProviderError{{Title: "message deleted by the sender"}}
	case first != nil:
		msg.ProviderType = first.ProviderType
		media := &crmpb.Media{Url: first.Url, Caption: msg.Text}
		switch first.Type {
		case crmpb.AttachmentType_ATTACHMENT_TYPE_IMAGE:
			msg.Type = crmpb.MessageType_MESSAGE_TYPE_IMAGE
			if first.StickerId != "" {
				msg.Type = crmpb.MessageType_MESSAGE_TYPE_STICKER
			}
			msg.Media = media
		case crmpb.AttachmentType_ATTACHMENT_TYPE_AUDIO:
			msg.Type, msg.Media = crmpb.MessageType_MESSAGE_TYPE_AUDIO, media
		case crmpb.AttachmentType_ATTACHMENT_TYPE_VIDEO:
			msg.Type, msg.Media = crmpb.MessageType_MESSAGE_TYPE_VIDEO, media
		case crmpb.AttachmentType_ATTACHMENT_TYPE_FILE:
			msg.Type, msg.Media = crmpb.MessageType_MESSAGE_TYPE_DOCUMENT, media
		case crmpb.AttachmentType_ATTACHMENT_TYPE_LOCATION:
			msg.Type = crmpb.MessageType_MESSAGE_TYPE_LOCATION
			if msg.Location == nil {
				msg.Location = &crmpb.Location{Url: first.Url}
			}
		case crmpb.AttachmentType_ATTACHMENT_TYPE_OTHER:
			msg.Type = crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED
			msg.Errors = []*crmpb.ProviderError{{Title: "attachment type " + strconv.Quote(first.ProviderType) + " not supported"}}
		default:
			// reel, ig_reel, post, ig_post, share, story_mention, fallback,
			// template: a shared link, shown with its URL.
			msg.Type = crmpb.MessageType_MESSAGE_TYPE_SHARE
		}
	case quickReply:
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_QUICK_REPLY
		msg.ProviderType = "quick_reply"
	case msg.Text != "":
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_TEXT
		msg.ProviderType = "text"
	case len(msg.Attachments) > 0: // only a story reply
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_SHARE
		msg.ProviderType = "story_reply"
	default:
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED
		msg.ProviderType = "unsupported"
		msg.Errors = []*crmpb.ProviderError{{Title: "message content not supported"}}
	}
}

func referral(r *msgReferral) *crmpb.Referral {
	out := &crmpb.Referral{
		Ref: string(r.Ref), SourceType: string(r.Source), SourceId: string(r.AdID),
		AdId: string(r.AdID), SourceUrl: string(r.RefererURI), MediaType: string(r.Type),
	}
	if a := r.AdsContext; a != nil {
		out.Headline = string(a.AdTitle)
		out.ImageUrl = string(a.PhotoURL)
		out.VideoUrl = string(a.VideoURL)
	}
	return out
}
