//! The system's PROJ, loaded when the first transformation or CRS lookup is set up, not linked.
//!
//! Why not linked: libproj brings about forty libraries (curl, GnuTLS, Kerberos, LDAP, TIFF …)
//! whose symbols the dynamic loader resolves before `main`, 8.5 ms of every `kleinraum`
//! process (a C program linked with and without `-lproj`: 9.6 vs 1.1 ms), while most runs read
//! data already in the working CRS and never call PROJ. Loaded here on first use, the cost is
//! paid by the runs that reproject, once.
//!
//! Only the few functions kleinraum calls are bound, with the C signatures of `proj.h`
//! (PROJ ≥ 8; Debian bookworm has 9.1). Each [`Transform`] has its own PROJ context, so
//! transformations on different threads share nothing; a `Transform` is not `Send` (PROJ
//! objects belong to the thread of their context).
//!
//! Which library: `KLEINRAUM_LIBPROJ` (a path) if set, else `libproj.so.25` (PROJ 9), then the
//! unversioned `libproj.so` of the -dev package.

use libloading::Library;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::OnceLock;

type Ctx = *mut c_void;
type Pj = *mut c_void;

/// `PJ_COORD`: a union of four doubles, passed and returned by value.
#[repr(C)]
#[derive(Clone, Copy)]
struct Coord4 {
    v: [f64; 4],
}

/// `PJ_FWD` of `PJ_DIRECTION`.
const FWD: c_int = 1;
/// `PJ_LOG_NONE` of `PJ_LOG_LEVEL`.
const LOG_NONE: c_int = 0;
/// Coordinates per `proj_trans_array` call: the copies PROJ needs (32 bytes a point) stay
/// small however many points a file has.
const BATCH: usize = 1 << 14;

/// The bound functions; the library stays loaded for the life of the process.
struct Api {
    _lib: Library,
    context_create: unsafe extern "C" fn() -> Ctx,
    context_destroy: unsafe extern "C" fn(Ctx) -> Ctx,
    context_errno: unsafe extern "C" fn(Ctx) -> c_int,
    context_errno_string: unsafe extern "C" fn(Ctx, c_int) -> *const c_char,
    log_level: unsafe extern "C" fn(Ctx, c_int) -> c_int,
    area_create: unsafe extern "C" fn() -> *mut c_void,
    area_destroy: unsafe extern "C" fn(*mut c_void),
    create: unsafe extern "C" fn(Ctx, *const c_char) -> Pj,
    create_crs_to_crs: unsafe extern "C" fn(Ctx, *const c_char, *const c_char, *mut c_void) -> Pj,
    normalize_for_visualization: unsafe extern "C" fn(Ctx, Pj) -> Pj,
    destroy: unsafe extern "C" fn(Pj) -> Pj,
    trans: unsafe extern "C" fn(Pj, c_int, Coord4) -> Coord4,
    trans_array: unsafe extern "C" fn(Pj, c_int, usize, *mut Coord4) -> c_int,
    errno: unsafe extern "C" fn(Pj) -> c_int,
    errno_reset: unsafe extern "C" fn(Pj) -> c_int,
    identify: unsafe extern "C" fn(
        Ctx,
        Pj,
        *const c_char,
        *const *const c_char,
        *mut *mut c_int,
    ) -> *mut c_void,
    list_get_count: unsafe extern "C" fn(*const c_void) -> c_int,
    list_get: unsafe extern "C" fn(Ctx, *const c_void, c_int) -> Pj,
    list_destroy: unsafe extern "C" fn(*mut c_void),
    int_list_destroy: unsafe extern "C" fn(*mut c_int),
    get_id_code: unsafe extern "C" fn(Pj, c_int) -> *const c_char,
}

fn load() -> Result<Api, String> {
    let names: Vec<std::ffi::OsString> = match std::env::var_os("KLEINRAUM_LIBPROJ") {
        Some(path) => vec![path],
        None => vec!["libproj.so.25".into(), "libproj.so".into()],
    };
    let mut tried = Vec::new();
    let lib = names
        .iter()
        .find_map(|name| {
            // SAFETY: loading PROJ runs its (and its dependencies') initialisers, which only
            // set up their own state.
            match unsafe { Library::new(name) } {
                Ok(lib) => Some(lib),
                Err(e) => {
                    tried.push(format!("{}: {e}", name.to_string_lossy()));
                    None
                }
            }
        })
        .ok_or_else(|| {
            format!(
                "PROJ is not installed (Debian: apt install libproj25 proj-data; or set \
                 KLEINRAUM_LIBPROJ to the library's path): {}",
                tried.join("; ")
            )
        })?;
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the field's type is the function's signature in proj.h.
            *unsafe { lib.get(concat!($name, "\0").as_bytes()) }.map_err(|e| {
                format!(
                    "the PROJ library has no {}: {e} (PROJ 8 or newer needed)",
                    $name
                )
            })?
        };
    }
    let api = Api {
        context_create: sym!("proj_context_create"),
        context_destroy: sym!("proj_context_destroy"),
        context_errno: sym!("proj_context_errno"),
        context_errno_string: sym!("proj_context_errno_string"),
        log_level: sym!("proj_log_level"),
        area_create: sym!("proj_area_create"),
        area_destroy: sym!("proj_area_destroy"),
        create: sym!("proj_create"),
        create_crs_to_crs: sym!("proj_create_crs_to_crs"),
        normalize_for_visualization: sym!("proj_normalize_for_visualization"),
        destroy: sym!("proj_destroy"),
        trans: sym!("proj_trans"),
        trans_array: sym!("proj_trans_array"),
        errno: sym!("proj_errno"),
        errno_reset: sym!("proj_errno_reset"),
        identify: sym!("proj_identify"),
        list_get_count: sym!("proj_list_get_count"),
        list_get: sym!("proj_list_get"),
        list_destroy: sym!("proj_list_destroy"),
        int_list_destroy: sym!("proj_int_list_destroy"),
        get_id_code: sym!("proj_get_id_code"),
        _lib: lib,
    };
    // PROJ prints a line for every coordinate it cannot transform ("utm: Invalid latitude":
    // 401,033 lines for Berlin's addresses under a wrong `crs`) before kleinraum's error, which
    // names the file and the first such coordinate. A new context copies the log level of the
    // default context (null), so it is set there, before any context exists.
    // SAFETY: a null context addresses PROJ's default context; the call sets one integer.
    unsafe { (api.log_level)(std::ptr::null_mut(), LOG_NONE) };
    Ok(api)
}

fn api() -> Result<&'static Api, String> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// A PROJ context of its own, destroyed with its owner.
struct Context {
    api: &'static Api,
    ctx: Ctx,
}

impl Context {
    fn new() -> Result<Context, String> {
        let api = api()?;
        // SAFETY: no arguments; null is checked.
        let ctx = unsafe { (api.context_create)() };
        if ctx.is_null() {
            return Err("PROJ could not create a context (out of memory?)".into());
        }
        Ok(Context { api, ctx })
    }

    /// The message of the context's last error.
    fn error(&self) -> String {
        // SAFETY: the context is live; PROJ returns a static or context-owned string or null.
        unsafe {
            let code = (self.api.context_errno)(self.ctx);
            text((self.api.context_errno_string)(self.ctx, code))
                .unwrap_or_else(|| format!("PROJ error {code}"))
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: created by proj_context_create, destroyed once, after its objects.
        unsafe { (self.api.context_destroy)(self.ctx) };
    }
}

/// A C string from PROJ, copied; `None` for null or non-UTF-8.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that lives during the call.
unsafe fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: as the caller promises.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .ok()
        .map(str::to_string)
}

fn c_string(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{s:?} contains a NUL byte"))
}

/// A transformation between two CRSs, with the axis order normalised for visualisation:
/// (longitude, latitude) and (easting, northing), as `proj::Proj::new_known_crs` gave it.
pub struct Transform {
    pj: Pj,
    area: *mut c_void,
    // Dropped after the fields above are destroyed (see `Drop`).
    ctx: Context,
}

impl Transform {
    /// PROJ's best available operation from `from` to `to` (EPSG codes as `EPSG:n`, WKT or
    /// PROJ strings).
    pub fn new(from: &str, to: &str) -> Result<Transform, String> {
        let (from_c, to_c) = (c_string(from)?, c_string(to)?);
        let ctx = Context::new()?;
        let api = ctx.api;
        // SAFETY: live context, NUL-terminated strings; every object is checked for null and
        // owned by the returned value (or destroyed here on failure).
        unsafe {
            let area = (api.area_create)();
            let pj = (api.create_crs_to_crs)(ctx.ctx, from_c.as_ptr(), to_c.as_ptr(), area);
            if pj.is_null() {
                let e = ctx.error();
                if !area.is_null() {
                    (api.area_destroy)(area);
                }
                return Err(e);
            }
            let norm = (api.normalize_for_visualization)(ctx.ctx, pj);
            (api.destroy)(pj);
            if norm.is_null() {
                let e = ctx.error();
                if !area.is_null() {
                    (api.area_destroy)(area);
                }
                return Err(e);
            }
            Ok(Transform {
                pj: norm,
                area,
                ctx,
            })
        }
    }

    fn last_error(&self, code: c_int) -> String {
        // SAFETY: live context; the string is copied at once.
        unsafe { text((self.ctx.api.context_errno_string)(self.ctx.ctx, code)) }
            .unwrap_or_else(|| format!("PROJ error {code}"))
    }

    /// Transforms one coordinate.
    pub fn convert(&self, (x, y): (f64, f64)) -> Result<(f64, f64), String> {
        let api = self.ctx.api;
        // z 0 and time unknown (infinite), as proj_trans_generic fills them.
        let c = Coord4 {
            v: [x, y, 0.0, f64::INFINITY],
        };
        // SAFETY: live transformation; PJ_COORD by value.
        let (out, err) = unsafe {
            (api.errno_reset)(self.pj);
            let out = (api.trans)(self.pj, FWD, c);
            (out, (api.errno)(self.pj))
        };
        if err != 0 {
            return Err(self.last_error(err));
        }
        Ok((out.v[0], out.v[1]))
    }

    /// Transforms coordinates in place, a batch per PROJ call. On an error, returns where the
    /// batch that failed starts with PROJ's message: the coordinates from there on are left as
    /// they were (so the caller can name the culprit), earlier ones are transformed.
    pub fn convert_array(&self, pts: &mut [(f64, f64)]) -> Result<(), (usize, String)> {
        let api = self.ctx.api;
        let mut buf: Vec<Coord4> = Vec::with_capacity(pts.len().min(BATCH));
        for (k, batch) in pts.chunks_mut(BATCH).enumerate() {
            buf.clear();
            buf.extend(batch.iter().map(|&(x, y)| Coord4 {
                v: [x, y, 0.0, f64::INFINITY],
            }));
            // SAFETY: live transformation; `buf` holds `buf.len()` initialised coordinates.
            let (ret, err) = unsafe {
                (api.errno_reset)(self.pj);
                let ret = (api.trans_array)(self.pj, FWD, buf.len(), buf.as_mut_ptr());
                (ret, (api.errno)(self.pj))
            };
            if ret != 0 || err != 0 {
                return Err((k * BATCH, self.last_error(if err != 0 { err } else { ret })));
            }
            for (p, c) in batch.iter_mut().zip(&buf) {
                *p = (c.v[0], c.v[1]);
            }
        }
        Ok(())
    }
}

impl Drop for Transform {
    fn drop(&mut self) {
        // SAFETY: both created in `new`, destroyed once, before their context (a field
        // dropped after this).
        unsafe {
            (self.ctx.api.destroy)(self.pj);
            if !self.area.is_null() {
                (self.ctx.api.area_destroy)(self.area);
            }
        }
    }
}

/// The EPSG code PROJ identifies a WKT as, with at least 70 % confidence; `None` when PROJ is
/// missing, cannot read the WKT or is less sure.
pub fn identify_epsg(wkt: &str) -> Option<u32> {
    let c_wkt = CString::new(wkt.trim()).ok()?;
    let auth = c"EPSG";
    let ctx = Context::new().ok()?;
    let api = ctx.api;
    // SAFETY: plain PROJ C API use on a private context; every object created here is
    // destroyed before returning, pointers are checked for null before use.
    unsafe {
        let obj = (api.create)(ctx.ctx, c_wkt.as_ptr());
        if obj.is_null() {
            return None;
        }
        let mut result = None;
        let mut confidence: *mut c_int = std::ptr::null_mut();
        let list = (api.identify)(
            ctx.ctx,
            obj,
            auth.as_ptr(),
            std::ptr::null(),
            &mut confidence,
        );
        if !list.is_null() {
            let n = (api.list_get_count)(list);
            // Candidates come sorted by decreasing confidence.
            if n > 0 && !confidence.is_null() && *confidence >= 70 {
                let best = (api.list_get)(ctx.ctx, list, 0);
                if !best.is_null() {
                    result = text((api.get_id_code)(best, 0)).and_then(|s| s.parse().ok());
                    (api.destroy)(best);
                }
            }
            (api.list_destroy)(list);
        }
        if !confidence.is_null() {
            (api.int_list_destroy)(confidence);
        }
        (api.destroy)(obj);
        result
    }
}
