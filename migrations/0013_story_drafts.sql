-- Unfinished stories and proposals move to the drafts table, beside every other conversation
-- (bot/drafts.py): a sent story is a row of `stories` from its first moment on. The step is
-- what the draft still lacks, as StoryDraft.step says; the answers are StoryDraft as JSON.
INSERT OR IGNORE INTO drafts (telegram_id, kind, step, answers, updated_at, turn)
SELECT
    author_id,
    'story',
    CASE
        WHEN chapter_id IS NULL THEN 'chapter'
        WHEN kind = 'proposal' AND title IS NULL THEN 'title'
        WHEN text IS NULL THEN 'text'
        WHEN anonymous IS NULL THEN 'anonymity'
        ELSE 'preview'
    END,
    json_object(
        'kind', kind,
        'chapter_id', chapter_id,
        'title', title,
        'text', text,
        'anonymous', CASE anonymous WHEN 1 THEN json('true') WHEN 0 THEN json('false') END,
        'signed_name', signed_name,
        'created_at', created_at,
        'updated_at', updated_at
    ),
    updated_at,
    1 + IFNULL((SELECT MAX(turn) FROM drafts d WHERE d.telegram_id = stories.author_id), 0)
FROM stories
WHERE status = 'draft' AND author_id IS NOT NULL;

DELETE FROM stories WHERE status = 'draft';
DROP INDEX IF EXISTS stories_one_draft;
