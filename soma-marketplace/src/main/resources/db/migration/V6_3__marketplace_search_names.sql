-- soma-marketplace: search finds a capsule by its exact name, a hyphenated word and a name prefix.
-- Names and tags are now indexed as written (to_tsvector keeps 'acc-cap' whole and adds 'acc',
-- 'cap'), not with hyphens turned into spaces, which websearch_to_tsquery('acc-cap') could not
-- match. Rebuild the rows published before, with the formula Catalog.refreshLatest uses.
UPDATE capsules SET search = setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('english', publisher), 'B')
    || setweight(to_tsvector('english', array_to_string(tags, ' ')), 'B') || setweight(to_tsvector('english', description), 'C')
WHERE latest_version IS NOT NULL;

-- Name prefix matches (name LIKE 'acc%') use this index whatever the database's collation.
CREATE INDEX capsules_name_prefix ON capsules (name text_pattern_ops);
