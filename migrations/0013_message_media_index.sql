-- GET /api/v1/media/{id} answers only to who may see a conversation the
-- media was sent or received in (the media's visibility is its
-- conversation's). That asks "which messages name this media?": a partial
-- index, so only messages that carry one of our media ids pay an entry
-- (text messages, the bulk, pay nothing on write).
CREATE INDEX IF NOT EXISTS messages_media ON messages (tenant_id, (media->>'media_id')) WHERE media ? 'media_id';
