"""What oO has learned and how: per-user learner state, the policy registry, statistics, learner ops.

Also the delayed-reward handler (a task completed at its source teaches the learner). Imports
`platform` only among the services.
"""
