package dev.massedge.inference;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Checks a request's tensors against a session's declared inputs, for every engine alike. */
public final class SessionInputs {
  private SessionInputs() {}

  public static void check(List<TensorSpec> specs, Map<String, Tensor> inputs) {
    var expected = new TreeSet<String>();
    specs.forEach(s -> expected.add(s.name()));
    var unknown = new TreeSet<>(inputs.keySet());
    unknown.removeAll(expected);
    if (!unknown.isEmpty()) {
      throw new InvalidInputException(
          "unknown_input", "unknown input(s) " + unknown + "; the model's inputs are " + specs);
    }
    for (TensorSpec spec : specs) {
      Tensor t = inputs.get(spec.name());
      if (t == null) {
        throw new InvalidInputException(
            "missing_input",
            "input '"
                + spec.name()
                + "' is missing; the model needs "
                + specs.size()
                + " input(s): "
                + specs);
      }
      if (t.type() != spec.type()) {
        throw new InvalidInputException(
            "datatype_mismatch",
            "input " + spec.describe() + " was given as " + t.type() + "; expected " + spec.type());
      }
      if (!spec.accepts(t.shape())) {
        throw new InvalidInputException(
            "shape_mismatch",
            "input "
                + spec.describe()
                + " was given shape "
                + Arrays.toString(t.shape())
                + "; expected "
                + Arrays.toString(spec.shape()).replace("-1", "?"));
      }
    }
  }
}
