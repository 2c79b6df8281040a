//! Validating the order of prerequisites: every `after` name is known, no
//! name is declared twice, and the checks form no cycle.

use crate::outcome::Name;

/// What a check waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dep {
    /// Another check of the same layer, by its index.
    Check(usize),
    /// A name the layer requires from the record (an outer layer's outcome).
    Required(Name),
}

/// A graph of prerequisites the builder refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// A name is declared twice (as a check or a requirement).
    #[error("prerequisite '{0}' is declared twice")]
    Duplicate(Name),
    /// A check runs `after` a name that is neither a check nor a requirement
    /// of the layer.
    #[error("check '{check}' runs after '{unknown}', which is neither a check nor a requirement of this layer")]
    UnknownAfter {
        /// The check.
        check: Name,
        /// The name it waits for.
        unknown: Name,
    },
    /// [`after`](super::ChecksBuilder::after) or
    /// [`timeout`](super::ChecksBuilder::timeout) was called before any check
    /// was declared: there is no check for it to apply to.
    #[error("'{0}' applies to the check declared last, and no check was declared before it")]
    NoCheckYet(&'static str),
    /// The checks wait for each other in a cycle.
    #[error("checks wait for each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<Name>),
}

/// Resolves the `after` names of each check, in declaration order.
///
/// `checks` holds each check's name and the names it runs after; `required`
/// the names the layer requires from the record.
pub(crate) fn resolve(
    required: &[Name],
    checks: &[(Name, Vec<Name>)],
) -> Result<Vec<Vec<Dep>>, GraphError> {
    let mut seen: Vec<&Name> = Vec::with_capacity(required.len() + checks.len());
    for name in required.iter().chain(checks.iter().map(|(name, _)| name)) {
        if seen.contains(&name) {
            return Err(GraphError::Duplicate(name.clone()));
        }
        seen.push(name);
    }
    let deps = checks
        .iter()
        .map(|(check, after)| {
            after
                .iter()
                .map(|name| {
                    if let Some(index) = checks.iter().position(|(other, _)| other == name) {
                        Ok(Dep::Check(index))
                    } else if required.contains(name) {
                        Ok(Dep::Required(name.clone()))
                    } else {
                        Err(GraphError::UnknownAfter {
                            check: check.clone(),
                            unknown: name.clone(),
                        })
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(cycle) = find_cycle(&deps) {
        let names = cycle.into_iter().map(|i| checks[i].0.clone()).collect();
        return Err(GraphError::Cycle(names));
    }
    Ok(deps)
}

/// A cycle among the checks, as the indices along it with the first repeated
/// at the end, found by depth-first search.
fn find_cycle(deps: &[Vec<Dep>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        node: usize,
        deps: &[Vec<Dep>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[node] = Mark::OnPath;
        path.push(node);
        for dep in &deps[node] {
            let Dep::Check(next) = *dep else { continue };
            match marks[next] {
                Mark::OnPath => {
                    let start = path.iter().position(|&n| n == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(next, deps, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[node] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; deps.len()];
    let mut path = Vec::new();
    (0..deps.len()).find_map(|node| {
        (marks[node] == Mark::New)
            .then(|| visit(node, deps, &mut marks, &mut path))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(spec: &[(&'static str, &[&'static str])]) -> Vec<(Name, Vec<Name>)> {
        spec.iter()
            .map(|(name, after)| {
                (
                    Name::from(*name),
                    after.iter().map(|a| Name::from(*a)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_valid_graph_resolves_checks_and_requirements() {
        let required = [Name::from("auth")];
        let deps = resolve(
            &required,
            &checks(&[
                ("inventory", &["auth"]),
                ("limit", &["auth"]),
                ("charge", &["inventory", "limit"]),
            ]),
        )
        .unwrap();
        assert_eq!(deps[0], [Dep::Required("auth".into())]);
        assert_eq!(deps[2], [Dep::Check(0), Dep::Check(1)]);
    }

    #[test]
    fn unknown_duplicate_and_cyclic_names_are_refused_by_name() {
        let unknown = resolve(&[], &checks(&[("inventory", &["auth"])])).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "check 'inventory' runs after 'auth', which is neither a check nor a requirement of this layer"
        );
        let twice = resolve(&["auth".into()], &checks(&[("auth", &[])])).unwrap_err();
        assert_eq!(twice, GraphError::Duplicate("auth".into()));
        let cycle =
            resolve(&[], &checks(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"])])).unwrap_err();
        assert_eq!(
            cycle.to_string(),
            "checks wait for each other in a cycle: a -> c -> b -> a"
        );
        let itself = resolve(&[], &checks(&[("a", &["a"])])).unwrap_err();
        assert_eq!(itself, GraphError::Cycle(vec!["a".into(), "a".into()]));
    }
}
