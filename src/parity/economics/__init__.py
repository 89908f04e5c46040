"""Cost of ownership, break-even volume and usage counterfactuals."""
