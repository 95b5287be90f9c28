-- A claim and the next due time look at every active ordered webhook's oldest pending
-- delivery: this finds those webhooks without reading the others.
CREATE INDEX webhooks_ordered_idx ON webhooks (id) WHERE ordering = 'per_project' AND active;
