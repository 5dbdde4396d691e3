"""Background jobs run by the in-server APScheduler (`oo.jobs.scheduler`), one module per job."""
