"""Infrastructure shared by every business area: database, tenancy context, jobs, logs, metrics."""
