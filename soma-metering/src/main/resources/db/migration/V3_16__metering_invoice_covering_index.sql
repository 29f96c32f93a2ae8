-- soma-metering: the invoice run reads each tenant's rows of a period through (tenant_id, period).
-- Rows arrive interleaved across tenants, so each of a tenant's rows sits on its own heap page:
-- at 1M rows a tenant's 1,000 rows were 1,000 page reads (InvoiceRunBenchmark, docs/BENCHMARKS.md).
-- This index holds every column the lines query reads, so a tenant's period is an index-only
-- scan of adjacent index pages (once VACUUM has marked the period's pages all-visible, which a
-- closed period's are). It replaces usage_ledger_tenant_period, its prefix. Cost: a wider index
-- entry per ledger insert.
CREATE INDEX usage_ledger_invoice_lines ON usage_ledger (tenant_id, period)
    INCLUDE (meter, model, sku, upstream_model, input_tokens, output_tokens, input_per_million, cost, quantity, late_of, egress_bytes);
DROP INDEX usage_ledger_tenant_period;
