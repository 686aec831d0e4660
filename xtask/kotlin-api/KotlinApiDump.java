// The public API of compiled Kotlin classes in the format of Kotlin's binary-compatibility validator (`.api`
// files): classes and members that Kotlin or Java code outside the module can use, read from the classes' Kotlin
// metadata, so `internal` declarations, synthetic members and non-public classes are left out.
//
// Run by `cargo xtask api` as a single-file program: java -cp <classpath of pom.xml> KotlinApiDump.java CLASSES OUT
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import kotlin.sequences.SequencesKt;
import kotlinx.validation.api.ClassBinarySignature;
import kotlinx.validation.api.KotlinSignaturesLoadingKt;

public class KotlinApiDump {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: KotlinApiDump CLASSES_DIR OUT_FILE");
            System.exit(2);
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(Path.of(args[0]))) {
            files = walk.filter(p -> p.toString().endsWith(".class")).sorted().toList();
        }
        List<InputStream> classes = new ArrayList<>();
        for (Path file : files) {
            classes.add(new ByteArrayInputStream(Files.readAllBytes(file)));
        }
        List<ClassBinarySignature> api = KotlinSignaturesLoadingKt.loadApiFromJvmClasses(
                SequencesKt.asSequence(classes.iterator()), name -> true);
        api = KotlinSignaturesLoadingKt.filterOutNonPublic(api, List.of(), List.of());
        StringBuilder out = new StringBuilder();
        KotlinSignaturesLoadingKt.dump(api, out);
        Files.writeString(Path.of(args[1]), out.toString());
        System.out.println(api.size() + " public classes");
    }
}
