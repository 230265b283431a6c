//! Where things are inside the build container, each overridable from the environment as
//! herokuish allows (`APP_PATH`, `ENV_PATH`, `BUILD_PATH`, `CACHE_PATH`, `IMPORT_PATH`,
//! `BUILDPACK_PATH`).

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    /// The app: the source before a build, the slug after it.
    pub app: PathBuf,
    /// One file per config variable, named for it (`bin/compile`'s ENV_DIR).
    pub env: PathBuf,
    /// Where the buildpacks compile the app.
    pub build: PathBuf,
    /// Kept from one build to the next (a volume).
    pub cache: PathBuf,
    /// A source handed in here instead of in the app path.
    pub import: PathBuf,
    /// The installed buildpacks, tried in the order of their directory names.
    pub buildpacks: PathBuf,
}

impl Paths {
    pub fn from_env() -> Paths {
        let path = |key: &str, default: &str| PathBuf::from(var(key).unwrap_or(default.into()));
        Paths {
            app: path("APP_PATH", "/app"),
            env: path("ENV_PATH", "/tmp/env"),
            build: path("BUILD_PATH", "/tmp/build"),
            cache: path("CACHE_PATH", "/tmp/cache"),
            import: path("IMPORT_PATH", "/tmp/app"),
            buildpacks: path("BUILDPACK_PATH", "/tmp/buildpacks"),
        }
    }
}

/// A non-empty environment variable.
pub fn var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}
