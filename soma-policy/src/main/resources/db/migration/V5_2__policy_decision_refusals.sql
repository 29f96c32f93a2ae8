-- soma-policy: a decision whose admission passed but whose write (a publish, an install) was
-- then refused for another reason (not the publisher, a version conflict) is on record with
-- outcome 'refused' and the problem the client got: its ErrorCode name and detail.
ALTER TABLE policy_decisions ADD COLUMN refusal_code TEXT, ADD COLUMN refusal_detail TEXT;
