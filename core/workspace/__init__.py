"""The collector's workspace (issue #14): collection KPIs, the cash forecast, credit evaluation
and the ranked work queue. Reads are set-based SQL through ``TenantScope.raw``; nothing here
imports the web or the broker."""
