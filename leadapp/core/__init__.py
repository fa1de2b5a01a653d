"""The domain core: no Reflex import, shared by web, worker and voice bridge."""
