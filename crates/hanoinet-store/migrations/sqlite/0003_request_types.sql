-- Every request type of Chapter V: the facts a node acts on, out of the fields JSON so that
-- lists can filter and sort on them. Dates are YYYY-MM-DD text (sorts as dates).
ALTER TABLE requests ADD COLUMN offence_category TEXT;
ALTER TABLE requests ADD COLUMN legal_basis TEXT NOT NULL DEFAULT 'convention';
ALTER TABLE requests ADD COLUMN urgency TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE requests ADD COLUMN language TEXT;
ALTER TABLE requests ADD COLUMN time_limit TEXT;
ALTER TABLE requests ADD COLUMN follows_request TEXT;
-- JSON array of warnings shown with the request (e.g. a language the requested State does not
-- list).
ALTER TABLE requests ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
-- Only requests that follow another are indexed by it. (The time-limit sort of lists orders
-- with a CASE, which no index serves.)
CREATE INDEX requests_by_follows ON requests (follows_request) WHERE follows_request IS NOT NULL;
