"""The serving core: plan -> admit -> mask -> execute -> restore -> account, once for every door."""
