"""sfrenew.salesforce."""
