"""sfrenew: a renewal-automation worker for Salesforce."""

__version__ = "0.1.0"
