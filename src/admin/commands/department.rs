//! `kontor department …`: a tenant's departments.

use crate::admin::{Ctx, Request, Response};
use crate::error::Result;
use crate::model::tenants;
use crate::store::tenant::{self as tstore, DepartmentRecord};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// `kontor department …`
#[derive(Debug, Subcommand)]
pub enum DepartmentCmd {
    /// Add a department
    Add {
        /// Tenant slug
        tenant: String,
        /// Name, e.g. Sales
        name: String,
    },
    /// List departments
    List {
        /// Tenant slug
        tenant: String,
    },
}

/// The department requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum DepartmentRequest {
    /// `department add`
    #[serde(rename = "department_add")]
    Add {
        /// Tenant slug.
        tenant: String,
        /// Name.
        name: String,
    },
    /// `department list`
    #[serde(rename = "department_list")]
    List {
        /// Tenant slug.
        tenant: String,
    },
}

impl DepartmentCmd {
    /// The request this command sends.
    pub fn request(&self) -> Request {
        Request::Department(match self {
            DepartmentCmd::Add { tenant, name } => DepartmentRequest::Add {
                tenant: tenant.clone(),
                name: name.clone(),
            },
            DepartmentCmd::List { tenant } => DepartmentRequest::List {
                tenant: tenant.clone(),
            },
        })
    }
}

impl DepartmentRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        match self {
            DepartmentRequest::Add { tenant, name } => {
                let name = tenants::clean_name("department name", &name, 100)?;
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let dep = db.with(|c| tstore::insert_department(c, &name))?;
                Ok(Response::Departments {
                    departments: vec![dep],
                })
            }
            DepartmentRequest::List { tenant } => {
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                Ok(Response::Departments {
                    departments: db.with(|c| tstore::list_departments(c))?,
                })
            }
        }
    }
}

/// Prints departments as text.
pub fn print_list(departments: &[DepartmentRecord]) {
    if departments.is_empty() {
        say!("no departments yet; add one with `kontor department add TENANT NAME`");
    }
    for d in departments {
        say!("{:<6} {}", d.id, d.name);
    }
}
