"""LeadApp: a reverse marketplace for local services."""
