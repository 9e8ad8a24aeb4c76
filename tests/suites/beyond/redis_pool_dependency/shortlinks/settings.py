import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    REDIS_URL: str = field(default_factory=lambda: os.getenv("REDIS_URL", "redis://localhost:6379/0"))
    LINK_TTL_SECONDS: int = 7 * 24 * 3600


settings = Settings()
