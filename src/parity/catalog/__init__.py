"""Model cards, deployments, licences, prices and hardware fit."""
