-- Kanban (issue 19): a column may be where deals are won or lost; cards are
-- ordered by rank (crm.RankBetween: strings compared byte by byte, so a move
-- writes one card and never renumbers a column); a card carries labels and
-- may name its conversation.
ALTER TABLE board_columns ADD COLUMN kind text NOT NULL DEFAULT 'open' CHECK (kind IN ('open', 'won', 'lost'));
ALTER TABLE board_columns ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE board_columns ADD CONSTRAINT board_columns_color CHECK (color ~ '^#[0-9a-f]{6}$');
CREATE INDEX board_columns_board ON board_columns (tenant_id, board_id, position);

ALTER TABLE cards DROP COLUMN position;
ALTER TABLE cards ADD COLUMN rank text COLLATE "C" NOT NULL CHECK (rank ~ '^[0-9A-Za-z]+$' AND length(rank) <= 1024);
ALTER TABLE cards ADD CONSTRAINT cards_value CHECK (value >= 0);
ALTER TABLE cards ADD CONSTRAINT cards_description CHECK (length(description) <= 10000);
ALTER TABLE cards ADD FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
  ON DELETE SET NULL (conversation_id);
DROP INDEX IF EXISTS cards_column;
CREATE INDEX cards_column ON cards (tenant_id, column_id, rank, id);
CREATE INDEX cards_contact ON cards (tenant_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX cards_board ON cards (tenant_id, board_id);

CREATE TABLE card_labels (
  tenant_id uuid NOT NULL,
  card_id   uuid NOT NULL,
  label_id  uuid NOT NULL,
  PRIMARY KEY (tenant_id, card_id, label_id),
  FOREIGN KEY (tenant_id, card_id) REFERENCES cards (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, label_id) REFERENCES labels (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('card_labels');
